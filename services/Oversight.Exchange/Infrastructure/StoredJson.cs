using System.Text.Json;

namespace Oversight.Exchange.Infrastructure;

/// <summary>How Exchange's JSON columns (lists, schemas, counts) are written and read: one setting for every table.</summary>
internal static class StoredJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
