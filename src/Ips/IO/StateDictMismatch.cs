namespace Ips.IO;

/// <summary>
/// The error for a state_dict whose keys or shapes disagree with the model it is loaded into: an
/// <see cref="InvalidDataException"/> whose message is one line (the file, how many keys differ and the first three),
/// with every key in <see cref="Details"/>, for <c>--verbose</c>; a full list runs to dozens of keys.
/// </summary>
public static class StateDictMismatch
{
    private const int Shown = 3;
    private const string DetailsKey = "Ips.StateDictMismatch.Details";

    /// <summary>The error for <paramref name="source"/>: keys missing from the file, unexpected in it, and mis-shaped (<c>key: file [..], model [..]</c>).</summary>
    public static InvalidDataException Create(string source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misshaped)
    {
        ArgumentNullException.ThrowIfNull(missing);
        ArgumentNullException.ThrowIfNull(unexpected);
        ArgumentNullException.ThrowIfNull(misshaped);
        // A mis-shaped key keeps its two shapes: they say which config value differs.
        var keys = missing.Concat(unexpected).Concat(misshaped).ToList();
        var kinds = string.Join(", ", new[] { (missing.Count, "missing"), (unexpected.Count, "unexpected"), (misshaped.Count, "mis-shaped") }
            .Where(k => k.Item1 > 0).Select(k => $"{k.Item1} {k.Item2}"));
        var error = new InvalidDataException($"{source}: the state_dict does not match the model: {keys.Count} key(s) differ ({kinds}), e.g. "
            + string.Join("; ", keys.Take(Shown)) + (keys.Count > Shown ? "; ..." : ""));
        error.Data[DetailsKey] = $"{source}: the state_dict does not match the model."
            + List("missing keys", missing) + List("unexpected keys", unexpected) + List("mis-shaped keys", misshaped);
        return error;
    }

    /// <summary>Every mismatched key of an error made by <see cref="Create"/>; null for any other error.</summary>
    public static string? Details(Exception error) => error?.Data[DetailsKey] as string;

    private static string List(string title, IReadOnlyList<string> items) =>
        items.Count > 0 ? $" {title} ({items.Count}): {string.Join(", ", items)}." : "";
}
