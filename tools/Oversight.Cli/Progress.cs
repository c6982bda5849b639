using System.Diagnostics;
using System.Globalization;

namespace Oversight.Cli;

/// <summary>
/// A long transfer's progress: one line on stderr, rewritten in place (at most a few times a second)
/// and cleared at the end — only when stderr is a terminal, so a script's or a test's output holds
/// nothing but the summary.
/// </summary>
internal sealed class Progress
{
    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(250);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly bool _live = !Console.IsErrorRedirected;
    private readonly string _verb;
    private TimeSpan _shown = -Every;
    private int _width;

    public Progress(string verb) => _verb = verb;

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Report(long records, string detail = "")
    {
        if (!_live || _clock.Elapsed - _shown < Every)
        {
            return;
        }

        _shown = _clock.Elapsed;
        var line = $"{_verb} {Count(records)} records ({Rate(records)}){detail}";
        Console.Error.Write("\r" + line.PadRight(_width));
        _width = line.Length;
    }

    /// <summary>Clears the line, so what is printed next starts at the left margin.</summary>
    public void Clear()
    {
        if (_live && _width > 0)
        {
            Console.Error.Write("\r" + new string(' ', _width) + "\r");
            _width = 0;
        }
    }

    /// <summary>"1,234 records/s", over the time since the transfer began.</summary>
    public string Rate(long records) =>
        $"{Count((long)(records / Math.Max(_clock.Elapsed.TotalSeconds, 0.001)))} records/s";

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
