namespace Oversight.Exchange.Model;

/// <summary>How a field's values are written; uploads are checked against it.</summary>
public enum FieldType
{
    Text = 1,
    WholeNumber = 2,
    DecimalNumber = 3,
    Boolean = 4,
    Date = 5,
    Timestamp = 6,
}

public enum FieldSensitivity
{
    Ordinary = 1,
    Sensitive = 2,
}

public enum DatasetState
{
    Published = 1,
    Retired = 2,
}

public sealed record DatasetField(string Name, FieldType Type, FieldSensitivity Sensitivity, bool Required, string Description);

/// <summary>A dataset a platform offers: its category, its schema, and whether it still takes requests.</summary>
public sealed record Dataset(
    string Id,
    string OwnerId,
    string Name,
    string DataCategory,
    IReadOnlyList<DatasetField> Fields,
    string Description,
    DatasetState State,
    DateTimeOffset PublishedAt,
    DateTimeOffset? RetiredAt,
    long RecordCount,
    long Version)
{
    public DatasetField? Field(string name) => Fields.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.Ordinal));
}
