-- Run by the Compose service sqlserver-init (sqlcmd -b, variables from .env) on every start: it makes
-- what is missing and sets the passwords again. One database per service, and one login per service
-- that owns its own database (the service migrates it at start-up) and has no user in the others.

IF DB_ID(N'oversight_consent') IS NULL CREATE DATABASE oversight_consent;
GO
IF DB_ID(N'oversight_governance') IS NULL CREATE DATABASE oversight_governance;
GO
IF DB_ID(N'oversight_exchange') IS NULL CREATE DATABASE oversight_exchange;
GO

IF SUSER_ID(N'oversight_consent') IS NULL
    CREATE LOGIN oversight_consent WITH PASSWORD = N'$(CONSENT_DB_PASSWORD)', DEFAULT_DATABASE = oversight_consent;
ELSE
    ALTER LOGIN oversight_consent WITH PASSWORD = N'$(CONSENT_DB_PASSWORD)';
GO
IF SUSER_ID(N'oversight_governance') IS NULL
    CREATE LOGIN oversight_governance WITH PASSWORD = N'$(GOVERNANCE_DB_PASSWORD)', DEFAULT_DATABASE = oversight_governance;
ELSE
    ALTER LOGIN oversight_governance WITH PASSWORD = N'$(GOVERNANCE_DB_PASSWORD)';
GO
IF SUSER_ID(N'oversight_exchange') IS NULL
    CREATE LOGIN oversight_exchange WITH PASSWORD = N'$(EXCHANGE_DB_PASSWORD)', DEFAULT_DATABASE = oversight_exchange;
ELSE
    ALTER LOGIN oversight_exchange WITH PASSWORD = N'$(EXCHANGE_DB_PASSWORD)';
GO

USE oversight_consent;
IF USER_ID(N'oversight_consent') IS NULL CREATE USER oversight_consent FOR LOGIN oversight_consent;
ALTER ROLE db_owner ADD MEMBER oversight_consent;
GO
USE oversight_governance;
IF USER_ID(N'oversight_governance') IS NULL CREATE USER oversight_governance FOR LOGIN oversight_governance;
ALTER ROLE db_owner ADD MEMBER oversight_governance;
GO
USE oversight_exchange;
IF USER_ID(N'oversight_exchange') IS NULL CREATE USER oversight_exchange FOR LOGIN oversight_exchange;
ALTER ROLE db_owner ADD MEMBER oversight_exchange;
GO
