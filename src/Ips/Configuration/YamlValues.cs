using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Ips.Configuration;

/// <summary>
/// Typed reading of YAML nodes with PyYAML's notion of types (the official implementation loads its configs with
/// PyYAML), so a file that the official code reads reads the same here. Errors name the file and the key.
/// </summary>
internal sealed class YamlValues(string source)
{
    // PyYAML (YAML 1.1) resolves these plain scalars to booleans.
    private static readonly string[] TrueWords = ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"];
    private static readonly string[] FalseWords = ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"];
    private static readonly string[] NullWords = ["", "~", "null", "Null", "NULL"];

    public string Source { get; } = source;

    /// <summary>An error about this file; numbers in the message are formatted with the invariant culture.</summary>
    public ConfigException Error(FormattableString message) =>
        new($"config {Source}: {message.ToString(CultureInfo.InvariantCulture)}");

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any } s
        && NullWords.Contains(s.Value ?? "");

    public static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode s => $"'{s.Value}'",
        YamlSequenceNode => "a list",
        YamlMappingNode => "a mapping",
        _ => "an alias",
    };

    public int Int(string key, YamlNode node)
    {
        if (node is YamlScalarNode { Value: { } text } && !IsNull(node)
            && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            && value is >= int.MinValue and <= int.MaxValue)
        {
            return (int)value;
        }
        throw Error($"key '{key}' must be an integer, got {Describe(node)}");
    }

    public int? NullableInt(string key, YamlNode node) => IsNull(node) ? null : Int(key, node);

    public double Double(string key, YamlNode node)
    {
        if (node is YamlScalarNode { Value: { } text } && !IsNull(node)
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            && double.IsFinite(value))
        {
            return value;
        }
        throw Error($"key '{key}' must be a number (e.g. 0.001 or 1e-3), got {Describe(node)}");
    }

    public bool Bool(string key, YamlNode node)
    {
        if (node is YamlScalarNode { Value: { } text })
        {
            if (TrueWords.Contains(text)) return true;
            if (FalseWords.Contains(text)) return false;
        }
        throw Error($"key '{key}' must be True or False, got {Describe(node)}");
    }

    public string String(string key, YamlNode node)
    {
        if (node is YamlScalarNode { Value: { } text } && !IsNull(node)) return text;
        throw Error($"key '{key}' must be a text value, got {(IsNull(node) ? "nothing" : Describe(node))}");
    }

    public string? NullableString(string key, YamlNode node) => IsNull(node) ? null : String(key, node);

    /// <summary>A <c>[height, width]</c> pair such as <c>patch_size: [50, 50]</c>; null when the key is null.</summary>
    public int[]? IntPair(string key, YamlNode node)
    {
        if (IsNull(node)) return null;
        if (node is YamlSequenceNode { Children.Count: 2 } seq
            && seq.Children.All(c => c is YamlScalarNode s && int.TryParse(s.Value, NumberStyles.AllowLeadingSign,
                CultureInfo.InvariantCulture, out _)))
        {
            return [.. seq.Children.Select(c => Int(key, c))];
        }
        throw Error($"key '{key}' must be a list of two integers [height, width], got {Describe(node)}");
    }

    /// <summary>A list of text values such as <c>classes: ['cat', 'dog']</c>; null when the key is null.</summary>
    public string[]? StringList(string key, YamlNode node)
    {
        if (IsNull(node)) return null;
        if (node is YamlSequenceNode seq && seq.Children.All(c => c is YamlScalarNode { Value: { } } && !IsNull(c)))
        {
            return [.. seq.Children.Select(c => ((YamlScalarNode)c).Value!)];
        }
        throw Error($"key '{key}' must be a list of names, e.g. ['cat', 'dog'], got {Describe(node)}");
    }

    /// <summary>The closest of <paramref name="known"/> to a misspelt key, for "did you mean" hints.</summary>
    public static string? Suggest(string key, IEnumerable<string> known)
    {
        var best = known
            .Select(k => (Key: k, Distance: Levenshtein(key.ToLowerInvariant(), k.ToLowerInvariant())))
            .OrderBy(t => t.Distance)
            .FirstOrDefault();
        return best.Key is not null && best.Distance <= Math.Max(2, key.Length / 3) ? best.Key : null;
    }

    private static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
