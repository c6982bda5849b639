using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Oversight.Cli;

/// <summary>
/// A checkpoint kept by whoever checks a log (<c>audit checkpoint save</c>): the signed note and the
/// C2SP verifier key it was verified with. Later checks trust the key in the file, not what the
/// service serves then, so a service that changed its key or its history cannot talk its way past.
/// </summary>
internal sealed record SavedCheckpoint(
    [property: JsonPropertyName("verifier_key")] string VerifierKey,
    [property: JsonPropertyName("checkpoint_note")] string CheckpointNote,
    [property: JsonPropertyName("saved_time")] DateTimeOffset SavedTime)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Relaxed escaping only so the file reads as the note and key print ('+' and the em dash as they are); it is never put in HTML.

    public async Task WriteAsync(string path, CancellationToken cancellationToken)
    {
        // Written beside and moved into place, so an interrupted save never leaves half a file.
        var partial = path + ".partial";
        await File.WriteAllTextAsync(partial, JsonSerializer.Serialize(this, Json) + "\n", cancellationToken);
        File.Move(partial, path, overwrite: true);
    }

    /// <summary>The saved checkpoint, or null with the reason when the file is missing or is not one.</summary>
    public static async Task<(SavedCheckpoint? Saved, string? Problem)> ReadAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return (null, $"{path} does not exist; save one first with audit checkpoint save --file {path}");
        }

        try
        {
            var saved = JsonSerializer.Deserialize<SavedCheckpoint>(await File.ReadAllTextAsync(path, cancellationToken), Json);
            return saved is { VerifierKey.Length: > 0, CheckpointNote.Length: > 0 }
                ? (saved, null)
                : (null, $"{path} holds no verifier_key and checkpoint_note");
        }
        catch (JsonException exception)
        {
            return (null, $"{path} is not a saved checkpoint: {exception.Message}");
        }
    }
}
