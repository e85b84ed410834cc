using System.Globalization;
using System.Text.RegularExpressions;

namespace Ips.Training;

/// <summary>
/// How often a run writes <c>last.ckpt</c> within an epoch, besides at its end: after a span of time or a number of
/// optimiser steps, so that a run killed without warning (<c>kill -9</c>, the OOM killer, a lost node) loses at
/// most that much work. Written as <c>10m</c>, <c>90s</c>, <c>1.5h</c>, <c>500steps</c> or <c>off</c>.
/// </summary>
public sealed partial record CheckpointInterval
{
    private CheckpointInterval(TimeSpan? time, long? steps)
    {
        Time = time;
        Steps = steps;
    }

    /// <summary>The default: every 10 minutes.</summary>
    public static CheckpointInterval Default { get; } = new(TimeSpan.FromMinutes(10), null);

    /// <summary>Only at the end of every epoch (and on a stop).</summary>
    public static CheckpointInterval Off { get; } = new(null, null);

    /// <summary>Time between checkpoints; null when counted in steps or off.</summary>
    public TimeSpan? Time { get; }

    /// <summary>Optimiser steps between checkpoints; null when timed or off.</summary>
    public long? Steps { get; }

    /// <summary>Every <paramref name="steps"/> optimiser steps.</summary>
    public static CheckpointInterval EverySteps(long steps) =>
        steps > 0 ? new(null, steps) : throw new ArgumentOutOfRangeException(nameof(steps), steps, "must be at least 1");

    /// <summary>Every <paramref name="time"/>.</summary>
    public static CheckpointInterval Every(TimeSpan time) =>
        time > TimeSpan.Zero ? new(time, null) : throw new ArgumentOutOfRangeException(nameof(time), time, "must be positive");

    /// <summary>Reads <c>10m</c>, <c>90s</c>, <c>1.5h</c>, <c>500steps</c> (or <c>500 steps</c>, <c>1step</c>) or <c>off</c>.</summary>
    /// <exception cref="ArgumentException">The text is none of these; the message shows the accepted forms.</exception>
    public static CheckpointInterval Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return Off;
        }
        var match = Pattern().Match(trimmed);
        if (match.Success && double.TryParse(match.Groups["n"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            var unit = match.Groups["unit"].Value.ToLowerInvariant();
            if (unit.StartsWith("step", StringComparison.Ordinal))
            {
                if (n == Math.Floor(n) && n <= long.MaxValue)
                {
                    return EverySteps((long)n);
                }
            }
            else
            {
                return Every(unit switch
                {
                    "s" => TimeSpan.FromSeconds(n),
                    "m" or "min" => TimeSpan.FromMinutes(n),
                    _ => TimeSpan.FromHours(n),
                });
            }
        }
        throw new ArgumentException(
            $"--checkpoint-every '{text}': expected a positive time (90s, 10m, 1.5h), a whole number of optimiser steps (500steps) or off.");
    }

    /// <summary>True when a checkpoint is due, <paramref name="elapsed"/> and <paramref name="steps"/> after the last one.</summary>
    public bool IsDue(TimeSpan elapsed, long steps) =>
        (Time is { } time && elapsed >= time) || (Steps is { } every && steps >= every);

    /// <inheritdoc />
    public override string ToString() => (Time, Steps) switch
    {
        ({ } time, _) when time.TotalHours >= 1 && time.TotalHours == Math.Floor(time.TotalHours) => string.Create(CultureInfo.InvariantCulture, $"{time.TotalHours:0}h"),
        ({ } time, _) when time.TotalMinutes == Math.Floor(time.TotalMinutes) => string.Create(CultureInfo.InvariantCulture, $"{time.TotalMinutes:0}m"),
        ({ } time, _) => string.Create(CultureInfo.InvariantCulture, $"{time.TotalSeconds:0.###}s"),
        (_, { } steps) => string.Create(CultureInfo.InvariantCulture, $"{steps}steps"),
        _ => "off",
    };

    [GeneratedRegex(@"^(?<n>[0-9]+(\.[0-9]+)?)\s*(?<unit>s|m|min|h|steps?)$", RegexOptions.IgnoreCase)]
    private static partial Regex Pattern();
}
