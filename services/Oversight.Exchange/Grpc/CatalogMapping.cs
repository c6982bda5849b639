using Google.Protobuf.WellKnownTypes;
using Oversight.Exchange.Model;

namespace Oversight.Exchange.Grpc;

/// <summary>The catalog's protos to and from the model's records.</summary>
internal static class CatalogMapping
{
    public static DatasetField ToModel(V1.DatasetField field) => new(
        field.Name, (FieldType)(int)field.Type, (FieldSensitivity)(int)field.Sensitivity, field.Required, field.Description);

    public static V1.Dataset ToProto(Dataset dataset)
    {
        var message = new V1.Dataset
        {
            Id = dataset.Id,
            OwnerId = dataset.OwnerId,
            Name = dataset.Name,
            DataCategory = dataset.DataCategory,
            Description = dataset.Description,
            State = (V1.DatasetState)(int)dataset.State,
            PublishTime = Timestamp.FromDateTimeOffset(dataset.PublishedAt),
            RetireTime = dataset.RetiredAt is { } retired ? Timestamp.FromDateTimeOffset(retired) : null,
            RecordCount = dataset.RecordCount,
        };
        message.Fields.AddRange(dataset.Fields.Select(f => new V1.DatasetField
        {
            Name = f.Name,
            Type = (V1.FieldType)(int)f.Type,
            Sensitivity = (V1.FieldSensitivity)(int)f.Sensitivity,
            Required = f.Required,
            Description = f.Description,
        }));
        return message;
    }
}
