using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Oversight.Suite.Tests;

/// <summary>
/// Hostile requests as raw protobuf bytes, built from a method's input descriptor: for each field
/// (nested fields too), a few values chosen for its type — so invalid UTF-8, which no generated
/// type can hold, can be sent as well. Each case sets one field, so every value is tried on every
/// field without a cross product.
/// </summary>
internal static class HostileCorpus
{
    private const int MaxDepth = 4;

    /// <param name="Field">The field the case sets, as a path of names (<c>records.subject_id</c>); null for the empty message.</param>
    public sealed record Case(string Label, byte[] Bytes, bool InvalidUtf8, string? Field = null);

    /// <summary>Every service generated in the given assemblies, from its generated descriptor.</summary>
    public static IReadOnlyList<ServiceDescriptor> Services(params Assembly[] assemblies) =>
        assemblies.SelectMany(a => a.GetTypes())
            .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static))
            .Where(p => p?.PropertyType == typeof(ServiceDescriptor))
            .Select(p => (ServiceDescriptor)p!.GetValue(null)!)
            .ToList();

    /// <param name="valid">
    /// A valid request to set each hostile value on (protobuf merges concatenated messages: the
    /// later value of a field wins, lists grow), so the value reaches the handler's deeper rules;
    /// empty when the method has none.
    /// </param>
    public static IEnumerable<Case> For(MessageDescriptor input, byte[] valid) => For(input, _ => valid);

    /// <param name="validFor">
    /// The valid request to set the hostile value of the case at this position on (1 onwards; 0 is
    /// the empty message, which has none): a request that may be made only once, such as an upload
    /// under its id, gets a fresh one per case.
    /// </param>
    public static IEnumerable<Case> For(MessageDescriptor input, Func<int, byte[]> validFor)
    {
        yield return new Case("empty message", [], false);
        var index = 0;
        foreach (var (path, field) in Fields(input, [], 0))
        {
            var name = string.Join(".", path.Append(field).Select(f => f.Name));
            foreach (var (label, encoded, invalidUtf8) in Values(field))
            {
                yield return new Case($"{name} = {label}", [.. validFor(++index), .. Wrap(path, encoded)], invalidUtf8, name);
            }
        }
    }

    private static IEnumerable<(IReadOnlyList<FieldDescriptor> Path, FieldDescriptor Field)> Fields(
        MessageDescriptor message, IReadOnlyList<FieldDescriptor> path, int depth)
    {
        foreach (var field in message.Fields.InFieldNumberOrder())
        {
            yield return (path, field);
            if (field.FieldType == FieldType.Message && !field.IsMap && !IsWellKnown(field.MessageType) && depth < MaxDepth)
            {
                foreach (var nested in Fields(field.MessageType, [.. path, field], depth + 1))
                {
                    yield return nested;
                }
            }
        }
    }

    private static bool IsWellKnown(MessageDescriptor message) => message.File.Package == "google.protobuf";

    /// <summary>The field's hostile values, each encoded as the field's bytes within its message.</summary>
    private static IEnumerable<(string Label, byte[] Bytes, bool InvalidUtf8)> Values(FieldDescriptor field)
    {
        switch (field.FieldType)
        {
            case FieldType.String:
                // A lone surrogate as a JavaScript client encodes it: not valid UTF-8.
                yield return ("invalid UTF-8", Encode(o => WriteBytes(o, field, [0x61, 0xED, 0xB0, 0x80])), true);
                yield return ("100,000 characters", Encode(o => WriteString(o, field, new string('x', 100_000))), false);
                yield return ("4,000 characters (within the request guard's bound)", Encode(o => WriteString(o, field, new string('y', 4_000))), false);
                yield return ("5,000 CJK characters", Encode(o => WriteString(o, field, new string('中', 5_000))), false);
                yield return ("control characters", Encode(o => WriteString(o, field, "a\u0000b\u001b[2J\r\n")), false);
                yield return ("SQL metacharacters", Encode(o => WriteString(o, field, "x'; DROP TABLE outbox_message; --")), false);
                yield return ("garbage token", Encode(o => WriteString(o, field, "cDEfMTIz!!==")), false);
                if (field.IsRepeated)
                {
                    yield return ("10,000 entries", Encode(o =>
                    {
                        for (var i = 0; i < 10_000; i++)
                        {
                            WriteString(o, field, $"e{i}");
                        }
                    }), false);
                }

                break;
            case FieldType.Bytes:
                yield return ("100,000 bytes", Encode(o => WriteBytes(o, field, new byte[100_000])), false);
                break;
            case FieldType.Int32 or FieldType.Int64 or FieldType.UInt32 or FieldType.UInt64:
                foreach (var value in new[] { long.MaxValue, 1L << 31, -1L, long.MinValue })
                {
                    yield return ($"{value}", Encode(o =>
                    {
                        o.WriteTag(field.FieldNumber, WireFormat.WireType.Varint);
                        o.WriteInt64(value);
                    }), false);
                }

                break;
            case FieldType.Enum:
                foreach (var value in new[] { 999, -1 })
                {
                    yield return ($"unknown enum value {value}", Encode(o =>
                    {
                        o.WriteTag(field.FieldNumber, WireFormat.WireType.Varint);
                        o.WriteEnum(value);
                    }), false);
                }

                break;
            case FieldType.Message when field.MessageType.FullName == Timestamp.Descriptor.FullName:
                yield return ("year 1", Encode(o => WriteMessage(o, field, new Timestamp { Seconds = -62135596800 })), false);
                yield return ("year 9999", Encode(o => WriteMessage(o, field, new Timestamp { Seconds = 253402300799, Nanos = 999_999_999 })), false);
                yield return ("beyond year 9999", Encode(o => WriteMessage(o, field, new Timestamp { Seconds = long.MaxValue })), false);
                yield return ("negative nanos", Encode(o => WriteMessage(o, field, new Timestamp { Seconds = 1, Nanos = -1 })), false);
                break;
            case FieldType.Message when field.MessageType.FullName == Duration.Descriptor.FullName:
                yield return ("huge duration", Encode(o => WriteMessage(o, field, new Duration { Seconds = long.MaxValue })), false);
                yield return ("negative duration", Encode(o => WriteMessage(o, field, new Duration { Seconds = -1 })), false);
                break;
            case FieldType.Message:
                yield return ("empty message", Encode(o => WriteBytes(o, field, [])), false);
                if (field.IsRepeated)
                {
                    yield return ("10,000 empty entries", Encode(o =>
                    {
                        for (var i = 0; i < 10_000; i++)
                        {
                            WriteBytes(o, field, []);
                        }
                    }), false);
                }

                break;
        }
    }

    /// <summary>Nests the encoded field inside each message of the path, innermost first.</summary>
    private static byte[] Wrap(IReadOnlyList<FieldDescriptor> path, byte[] encoded)
    {
        for (var i = path.Count - 1; i >= 0; i--)
        {
            var inner = encoded;
            encoded = Encode(o => WriteBytes(o, path[i], inner));
        }

        return encoded;
    }

    private static void WriteString(CodedOutputStream output, FieldDescriptor field, string value)
    {
        output.WriteTag(field.FieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    private static void WriteBytes(CodedOutputStream output, FieldDescriptor field, byte[] value)
    {
        output.WriteTag(field.FieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(value));
    }

    private static void WriteMessage(CodedOutputStream output, FieldDescriptor field, IMessage value) =>
        WriteBytes(output, field, value.ToByteArray());

    private static byte[] Encode(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }

    /// <summary>A method that sends and receives raw bytes, so any bytes reach the server's parser.</summary>
    public static Method<byte[], byte[]> RawMethod(MethodDescriptor method)
    {
        var type = (method.IsClientStreaming, method.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            _ => MethodType.DuplexStreaming,
        };
        var bytes = Marshallers.Create(b => b, b => b);
        return new Method<byte[], byte[]>(type, method.Service.FullName, method.Name, bytes, bytes);
    }

    /// <summary>Calls a method of any kind with one raw request message and reads the whole answer.</summary>
    public static async Task CallAsync(CallInvoker invoker, Method<byte[], byte[]> method, byte[] request, CallOptions options)
    {
        switch (method.Type)
        {
            case MethodType.Unary:
                await invoker.AsyncUnaryCall(method, null, options, request);
                break;
            case MethodType.ServerStreaming:
                using (var call = invoker.AsyncServerStreamingCall(method, null, options, request))
                {
                    while (await call.ResponseStream.MoveNext(options.CancellationToken))
                    {
                    }
                }

                break;
            case MethodType.ClientStreaming:
                using (var call = invoker.AsyncClientStreamingCall(method, null, options))
                {
                    await call.RequestStream.WriteAsync(request);
                    await call.RequestStream.CompleteAsync();
                    await call;
                }

                break;
            default:
                using (var call = invoker.AsyncDuplexStreamingCall(method, null, options))
                {
                    await call.RequestStream.WriteAsync(request);
                    await call.RequestStream.CompleteAsync();
                    while (await call.ResponseStream.MoveNext(options.CancellationToken))
                    {
                    }
                }

                break;
        }
    }
}
