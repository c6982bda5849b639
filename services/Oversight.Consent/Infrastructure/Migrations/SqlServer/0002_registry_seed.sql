-- The default purpose registry and data-category taxonomy. Sensitive marks follow PIPL Art. 28:
-- financial accounts, precise location, biometrics, health, identity documents.

INSERT INTO purpose (id, display_name, description) VALUES
    ('credit_assessment', 'Credit assessment', 'Assessing a person''s creditworthiness for a loan or credit line they applied for.'),
    ('anti_fraud', 'Anti-fraud', 'Detecting and preventing fraud against the person or the recipient.'),
    ('anti_money_laundering', 'Anti-money-laundering', 'Customer due diligence and suspicious-transaction monitoring required of financial institutions.'),
    ('identity_verification', 'Identity verification', 'Confirming that a person is who they claim to be.'),
    ('statistics', 'Statistics', 'Aggregate statistics and research; no decision about the individual.'),
    ('public_health', 'Public health', 'Responding to public-health emergencies and disease surveillance.'),
    ('social_assistance', 'Social assistance', 'Determining eligibility for public benefits and subsidies.');

INSERT INTO data_category (id, parent_id, display_name, sensitive, description) VALUES
    ('user', NULL, 'User data', 0, 'Everything known about a person.'),
    ('user.contact', 'user', 'Contact details', 0, 'Ways to reach the person.'),
    ('user.contact.phone', 'user.contact', 'Phone number', 0, 'Mobile or landline numbers.'),
    ('user.contact.email', 'user.contact', 'Email address', 0, 'Email addresses.'),
    ('user.contact.address', 'user.contact', 'Postal address', 0, 'Home and delivery addresses.'),
    ('user.demographic', 'user', 'Demographics', 0, 'Age band, gender and similar attributes.'),
    ('user.financial', 'user', 'Financial data', 0, 'Money-related data about the person.'),
    ('user.financial.account', 'user.financial', 'Financial accounts', 1, 'Bank and payment account numbers and balances.'),
    ('user.financial.transactions', 'user.financial', 'Transactions', 1, 'Payments and transfers with counterparties and amounts.'),
    ('user.financial.credit', 'user.financial', 'Credit history', 1, 'Loans, repayments and defaults.'),
    ('user.location', 'user', 'Location', 0, 'Where the person is or was.'),
    ('user.location.coarse', 'user.location', 'Coarse location', 0, 'City or district level location.'),
    ('user.location.precise', 'user.location', 'Precise location', 1, 'GPS-level location and movement traces.'),
    ('user.biometric', 'user', 'Biometrics', 1, 'Face, fingerprint, voice and other biometric data.'),
    ('user.health', 'user', 'Health', 1, 'Medical and health records.'),
    ('user.government_id', 'user', 'Identity documents', 1, 'Identity card, passport and other document numbers.'),
    ('user.behavior', 'user', 'Behaviour', 0, 'What the person does on a platform.'),
    ('user.behavior.purchase_history', 'user.behavior', 'Purchase history', 0, 'Orders, items and merchants.'),
    ('user.behavior.browsing', 'user.behavior', 'Browsing', 0, 'Pages and items viewed.'),
    ('user.behavior.delivery', 'user.behavior', 'Deliveries', 0, 'Delivery orders and their timing.'),
    ('user.device', 'user', 'Device', 0, 'Device identifiers and characteristics.');
