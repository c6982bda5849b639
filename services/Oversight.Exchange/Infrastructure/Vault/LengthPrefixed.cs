using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Oversight.Exchange.Infrastructure.Vault;

/// <summary>
/// The vault's one byte layout, shared by the associated data and the record payload: texts as a
/// 4-byte big-endian length and UTF-8, integers big-endian. Lengths make every split unambiguous,
/// so ("ab", "c") and ("a", "bc") never encode alike.
/// </summary>
internal static class LengthPrefixed
{
    /// <summary>Strict UTF-8: a lone surrogate throws rather than turning into U+FFFD, so distinct texts never encode alike.</summary>
    public static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void WriteByte(ArrayBufferWriter<byte> writer, byte value)
    {
        writer.GetSpan(1)[0] = value;
        writer.Advance(1);
    }

    public static void WriteUInt32(ArrayBufferWriter<byte> writer, uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(writer.GetSpan(4), value);
        writer.Advance(4);
    }

    public static void WriteInt64(ArrayBufferWriter<byte> writer, long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(writer.GetSpan(8), value);
        writer.Advance(8);
    }

    public static void WriteText(ArrayBufferWriter<byte> writer, string value)
    {
        var length = Utf8.GetByteCount(value);
        var span = writer.GetSpan(4 + length);
        Utf8.GetBytes(value, span[4..]);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)length);
        writer.Advance(4 + length);
    }

    /// <summary>Associated data for AES-GCM: a leading byte, then each text length-prefixed.</summary>
    public static byte[] AssociatedData(byte first, params ReadOnlySpan<string> texts)
    {
        var writer = new ArrayBufferWriter<byte>(64);
        WriteByte(writer, first);
        foreach (var text in texts)
        {
            WriteText(writer, text);
        }

        return writer.WrittenSpan.ToArray();
    }

    /// <summary>Reads the layout back; anything short, oversized or not UTF-8 is a <see cref="FormatException"/>.</summary>
    public ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private ReadOnlySpan<byte> _rest = bytes;

        public readonly int Remaining => _rest.Length;

        public byte Byte() => Take(1)[0];

        public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64BigEndian(Take(8));

        public string Text()
        {
            var length = UInt32();
            if (length > (uint)_rest.Length)
            {
                throw new FormatException($"A text claims {length} bytes where {_rest.Length} remain.");
            }

            try
            {
                return Utf8.GetString(Take((int)length));
            }
            catch (DecoderFallbackException exception)
            {
                throw new FormatException("A text is not valid UTF-8.", exception);
            }
        }

        private ReadOnlySpan<byte> Take(int length)
        {
            if (_rest.Length < length)
            {
                throw new FormatException($"The bytes end {length - _rest.Length} short of the next field.");
            }

            var taken = _rest[..length];
            _rest = _rest[length..];
            return taken;
        }
    }
}
