using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Google.Rpc.Status;

namespace Oversight.BuildingBlocks.Errors;

/// <summary>
/// Every error a caller hears is built here, bounded: a status travels in HTTP/2 trailers
/// (<c>grpc-message</c> and <c>grpc-status-details-bin</c>), and trailers past the peer's header
/// limit take the whole connection down, harming every other call on it (design §7). So at most
/// <see cref="MaxViolations"/> field violations are listed (the message gives the count), every
/// echoed text is cut to <see cref="MaxEchoLength"/> characters, the message to
/// <see cref="MaxMessageBytes"/> bytes on the wire, and the details to <see cref="MaxDetailsBytes"/>.
/// </summary>
public static class BoundedStatus
{
    /// <summary>Field violations listed in one answer; the rest are only counted.</summary>
    public const int MaxViolations = 20;

    /// <summary>Characters of any text a detail carries (a field path, a description, an echoed value).</summary>
    public const int MaxEchoLength = 160;

    /// <summary>Bytes of <c>grpc-message</c> once percent-encoded as it travels.</summary>
    public const int MaxMessageBytes = 1024;

    /// <summary>Bytes of the serialised google.rpc.Status (the details trailer is its base64, a third more).</summary>
    public const int MaxDetailsBytes = 3072;

    private const char Ellipsis = '…';

    public static RpcException ToRpcException(Code code, string message, IMessage? detail)
    {
        var status = new Status { Code = (int)code, Message = ShortenMessage(message) };
        switch (detail)
        {
            case null:
                break;
            case BadRequest badRequest:
                AddViolationsThatFit(status, badRequest.FieldViolations);
                break;
            default:
                var shortened = detail.Descriptor.Parser.ParseFrom(detail.ToByteString());
                ShortenTexts(shortened);
                status.Details.Add(Any.Pack(shortened));
                if (status.CalculateSize() > MaxDetailsBytes)
                {
                    status.Details.Clear();
                }

                break;
        }

        return status.ToRpcException();
    }

    /// <summary>An RpcException raised past the translation (by a handler or a library), bounded the same way.</summary>
    public static RpcException Bound(RpcException exception)
    {
        var status = exception.GetRpcStatus();
        if (status is null)
        {
            return EncodedLength(exception.Status.Detail) <= MaxMessageBytes
                ? exception
                : new RpcException(new Grpc.Core.Status(exception.StatusCode, ShortenMessage(exception.Status.Detail)));
        }

        if (status.CalculateSize() <= MaxDetailsBytes && EncodedLength(status.Message) <= MaxMessageBytes)
        {
            return exception;
        }

        // Field violations are what a caller acts on; other oversized details are dropped.
        return ToRpcException((Code)status.Code, status.Message, status.GetDetail<BadRequest>());
    }

    /// <summary>Text cut to <paramref name="maxLength"/> characters (never inside a surrogate pair), marked when cut.</summary>
    public static string Shorten(string text, int maxLength = MaxEchoLength)
    {
        if (text.Length <= maxLength)
        {
            return text;
        }

        var cut = maxLength - 1;
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }

        return text[..Math.Max(cut, 0)] + Ellipsis;
    }

    /// <summary>The summary line of an INVALID_ARGUMENT: the first few violations and how many there are.</summary>
    public static string DescribeViolations(IReadOnlyList<BadRequest.Types.FieldViolation> violations)
    {
        if (violations.Count == 1)
        {
            return $"{Shorten(violations[0].Field)} {Shorten(violations[0].Description)}";
        }

        var listed = violations.Take(MaxViolations).Select(v => $"{Shorten(v.Field)} {Shorten(v.Description)}");
        var head = violations.Count > MaxViolations
            ? $"{violations.Count} fields are invalid (the first {MaxViolations} follow): "
            : $"{violations.Count} fields are invalid: ";
        return head + string.Join("; ", listed);
    }

    private static void AddViolationsThatFit(Status status, IEnumerable<BadRequest.Types.FieldViolation> violations)
    {
        var bounded = new BadRequest();
        foreach (var violation in violations.Take(MaxViolations))
        {
            bounded.FieldViolations.Add(new BadRequest.Types.FieldViolation
            {
                Field = Shorten(violation.Field),
                Description = Shorten(violation.Description),
            });
        }

        // Long paths or messages can still overflow the budget: list fewer rather than exceed it.
        while (true)
        {
            status.Details.Clear();
            status.Details.Add(Any.Pack(bounded));
            if (status.CalculateSize() <= MaxDetailsBytes || bounded.FieldViolations.Count == 0)
            {
                return;
            }

            bounded.FieldViolations.RemoveAt(bounded.FieldViolations.Count - 1);
        }
    }

    /// <summary>Cuts every string in a detail message (and the messages it holds).</summary>
    private static void ShortenTexts(IMessage message)
    {
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            var value = field.Accessor.GetValue(message);
            switch (field.FieldType)
            {
                case FieldType.String when field.IsRepeated:
                    var texts = (IList<string>)value;
                    for (var i = 0; i < texts.Count; i++)
                    {
                        texts[i] = Shorten(texts[i]);
                    }

                    break;
                case FieldType.String when !field.IsMap:
                    field.Accessor.SetValue(message, Shorten((string)value));
                    break;
                case FieldType.Message when field.IsRepeated && !field.IsMap:
                    foreach (var item in (System.Collections.IEnumerable)value)
                    {
                        ShortenTexts((IMessage)item);
                    }

                    break;
                case FieldType.Message when value is IMessage nested:
                    ShortenTexts(nested);
                    break;
            }
        }
    }

    /// <summary>The message cut so that its percent-encoded form (non-ASCII and '%' take three bytes per UTF-8 byte) fits.</summary>
    private static string ShortenMessage(string message)
    {
        if (EncodedLength(message) <= MaxMessageBytes)
        {
            return message;
        }

        var budget = MaxMessageBytes - EncodedLength(new Rune(Ellipsis));
        var kept = new StringBuilder();
        foreach (var rune in message.EnumerateRunes())
        {
            budget -= EncodedLength(rune);
            if (budget < 0)
            {
                break;
            }

            kept.Append(rune.ToString());
        }

        return kept.Append(Ellipsis).ToString();
    }

    private static int EncodedLength(string text)
    {
        var length = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            length += EncodedLength(rune);
        }

        return length;
    }

    private static int EncodedLength(Rune rune) =>
        rune.Value is >= 0x20 and <= 0x7E and not '%' ? 1 : 3 * rune.Utf8SequenceLength;
}
