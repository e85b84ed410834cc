using System.Text;
using System.Text.RegularExpressions;

namespace Ips.Tests;

/// <summary>
/// Which top-level folders of a source tree use which: an edge A -> B means a file of A names the namespace
/// <c>Ips.B</c> (in a using directive of any form, or as a qualified <c>Ips.B.</c> reference). Comments and string and
/// char literals are blanked before matching, so that prose naming a namespace is no dependency. Raw string literals
/// are not recognised, as src/Ips has none. Built from (relative path, text) pairs, so that tests can feed it small
/// trees held in memory as well as the real one.
/// </summary>
internal sealed partial class SourceFolderGraph
{
    // How many of the files behind an edge a report names: enough to find the use, few enough to stay readable.
    private const int FilesNamedPerEdge = 2;

    private readonly SortedDictionary<string, SortedDictionary<string, List<string>>> uses;

    private SourceFolderGraph(SortedDictionary<string, SortedDictionary<string, List<string>>> uses)
    {
        this.uses = uses;
        Cycles = new StronglyConnectedComponents(this).Components.Where(component => component.Count > 1).ToList();
    }

    /// <summary>The groups of folders that use each other in a cycle (Tarjan's components of more than one folder), each sorted.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles { get; }

    /// <summary>Every .cs file under <paramref name="root"/> except build outputs, with its path relative to the root ('/'-separated), sorted by path.</summary>
    public static IReadOnlyList<(string RelativePath, string Text)> ReadSources(string root) =>
        Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Select(file => Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(path => FolderOf(path) is not ("bin" or "obj"))
            .Order(StringComparer.Ordinal)
            .Select(path => (path, File.ReadAllText(Path.Combine(root, path))))
            .ToList();

    /// <summary>The graph of the top-level folders of <paramref name="sources"/>.</summary>
    public static SourceFolderGraph FromSources(IEnumerable<(string RelativePath, string Text)> sources)
    {
        var files = sources.OrderBy(source => source.RelativePath, StringComparer.Ordinal).ToList();
        var uses = new SortedDictionary<string, SortedDictionary<string, List<string>>>(StringComparer.Ordinal);
        foreach (var (path, _) in files)
        {
            uses.TryAdd(FolderOf(path), new SortedDictionary<string, List<string>>(StringComparer.Ordinal));
        }
        var typesByFolder = files
            .GroupBy(file => FolderOf(file.RelativePath))
            .ToDictionary(group => group.Key, group => group.SelectMany(file => TypesDeclared(file.Text)).ToHashSet(StringComparer.Ordinal));
        foreach (var (path, text) in files)
        {
            var named = NamespacesNamed(text).Concat(RelativeReferences(text, typesByFolder));
            foreach (var used in named.Where(uses.ContainsKey).Where(used => used != FolderOf(path)))
            {
                AddFile(uses[FolderOf(path)], used, path);
            }
        }
        return new SourceFolderGraph(uses);
    }

    /// <summary>The top-level folder of a relative path, or "." for a file directly in the root.</summary>
    public static string FolderOf(string relativePath)
    {
        var slash = relativePath.IndexOf('/');
        return slash < 0 ? "." : relativePath[..slash];
    }

    /// <summary><paramref name="text"/> with each comment and string or char literal replaced by one space.</summary>
    public static string CodeOf(string text)
    {
        var code = new StringBuilder(text.Length);
        var index = 0;
        while (index < text.Length)
        {
            var end = EndOfCommentOrLiteral(text, index);
            code.Append(end == index ? text[index] : ' ');
            index = Math.Max(end, index + 1);
        }
        return code.ToString();
    }

    /// <summary>One line per folder, naming the folders it uses: <c>Training -> Configuration, Data, Modeling</c>.</summary>
    public string Describe() => string.Join('\n', uses.Keys.Select(folder => $"{folder} -> {DescribeUses(folder)}"));

    /// <summary>
    /// Each group of <see cref="Cycles"/> with its members, its two-folder cycles and, for a larger group, one cycle
    /// through it found by depth-first search; under each cycle its edges with the first files that cause them.
    /// </summary>
    public string DescribeCycles() => string.Join("\n\n", Cycles.Select(DescribeGroup));

    private IEnumerable<string> Uses(string folder) => uses[folder].Keys;

    private string DescribeUses(string folder) => uses[folder].Count == 0 ? "(none)" : string.Join(", ", Uses(folder));

    private string DescribeGroup(IReadOnlyList<string> members)
    {
        // The two-folder cycles are listed first as they are the usual thing to untangle; the longer cycle shows
        // what keeps a larger group together once they are gone.
        var cycles = TwoFolderCycles(members).ToList();
        if (members.Count > 2)
        {
            cycles.Add(CycleThrough(members));
        }
        var lines = new List<string> { $"Folders in a cycle: {string.Join(", ", members)}" };
        foreach (var cycle in cycles.DistinctBy(cycle => string.Join(" -> ", cycle)))
        {
            lines.Add($"  {string.Join(" -> ", cycle)}");
            lines.AddRange(cycle.Zip(cycle.Skip(1), DescribeEdge).Select(edge => $"    {edge}"));
        }
        return string.Join('\n', lines);
    }

    private IEnumerable<IReadOnlyList<string>> TwoFolderCycles(IReadOnlyList<string> members) =>
        members.SelectMany(first => Uses(first)
            .Where(second => string.CompareOrdinal(first, second) < 0 && uses[second].ContainsKey(first))
            .Select(second => (IReadOnlyList<string>)[first, second, first]));

    private List<string> CycleThrough(IReadOnlyList<string> members)
    {
        var path = new List<string> { members[0] };
        // Every folder of a strongly connected group reaches every other, so the search always closes the cycle.
        ExtendToStart(path, [members[0]], members.ToHashSet(StringComparer.Ordinal));
        return path;
    }

    private bool ExtendToStart(List<string> path, HashSet<string> visited, HashSet<string> members)
    {
        foreach (var next in Uses(path[^1]).Where(members.Contains))
        {
            if (next == path[0])
            {
                path.Add(next);
                return true;
            }
            if (visited.Add(next))
            {
                path.Add(next);
                if (ExtendToStart(path, visited, members))
                {
                    return true;
                }
                path.RemoveAt(path.Count - 1);
            }
        }
        return false;
    }

    private string DescribeEdge(string from, string to)
    {
        var files = uses[from][to];
        var more = files.Count > FilesNamedPerEdge ? $", +{files.Count - FilesNamedPerEdge} more" : "";
        return $"{from} -> {to} ({string.Join(", ", files.Take(FilesNamedPerEdge))}{more})";
    }

    private static void AddFile(SortedDictionary<string, List<string>> usesOfFolder, string used, string path)
    {
        if (!usesOfFolder.TryGetValue(used, out var files))
        {
            usesOfFolder[used] = files = [];
        }
        if (!files.Contains(path))
        {
            files.Add(path);
        }
    }

    // Namespace declarations name the file's own namespace, not one it uses, so they are blanked before matching.
    private static IEnumerable<string> NamespacesNamed(string text) =>
        IpsNamespace().Matches(NamespaceDeclaration().Replace(CodeOf(text), " ")).Select(match => match.Groups["folder"].Value);

    // Every file lives in a namespace under Ips, so `Native.CpuFeatures` names Ips.Native without the prefix. Such a
    // reference counts when a later part is a type declared in that folder: a property that happens to share a
    // folder's name (a `Selection` of a result, say) is then no dependency.
    private static IEnumerable<string> RelativeReferences(string text, Dictionary<string, HashSet<string>> typesByFolder) =>
        RelativeReference().Matches(NamespaceDeclaration().Replace(CodeOf(text), " "))
            .Where(match => typesByFolder.TryGetValue(match.Groups["folder"].Value, out var types)
                            && match.Groups["rest"].Value.Split('.', StringSplitOptions.RemoveEmptyEntries).Any(types.Contains))
            .Select(match => match.Groups["folder"].Value);

    private static IEnumerable<string> TypesDeclared(string text) =>
        TypeDeclaration().Matches(CodeOf(text)).Select(match => match.Groups["type"].Value);

    private static int EndOfCommentOrLiteral(string text, int start)
    {
        var rest = text.AsSpan(start);
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var newline = text.IndexOf('\n', start);
            return newline < 0 ? text.Length : newline;
        }
        if (rest.StartsWith("/*", StringComparison.Ordinal))
        {
            var close = text.IndexOf("*/", start + 2, StringComparison.Ordinal);
            return close < 0 ? text.Length : close + 2;
        }
        if (rest[0] == '\'')
        {
            return EndOfQuoted(text, start + 1, '\'', verbatim: false, interpolated: false);
        }
        // A string may open with $ (interpolated) and @ (verbatim), in either order.
        var prefix = rest.IndexOfAnyExcept('$', '@');
        if (prefix < 0 || rest[prefix] != '"')
        {
            return start;
        }
        return EndOfQuoted(text, start + prefix + 1, '"', verbatim: rest[..prefix].Contains('@'), interpolated: rest[..prefix].Contains('$'));
    }

    private static int EndOfQuoted(string text, int index, char quote, bool verbatim, bool interpolated)
    {
        while (index < text.Length)
        {
            var character = text[index];
            var next = index + 1 < text.Length ? text[index + 1] : '\0';
            if (character == quote && !(verbatim && next == quote))
            {
                return index + 1;
            }
            if (interpolated && character == '{' && next != '{')
            {
                index = EndOfHole(text, index + 1);
                continue;
            }
            // A backslash escape, a doubled quote in a verbatim string and a doubled brace each stand for one character.
            var escaped = (character == '\\' && !verbatim) || (character == quote && verbatim) || (character == '{' && next == '{');
            index += escaped ? 2 : 1;
        }
        return text.Length;
    }

    // An interpolation hole is code, which may hold strings of its own, up to the brace that closes it.
    private static int EndOfHole(string text, int index)
    {
        var depth = 1;
        while (index < text.Length && depth > 0)
        {
            var end = EndOfCommentOrLiteral(text, index);
            if (end == index)
            {
                depth += text[index] switch { '{' => 1, '}' => -1, _ => 0 };
                end = index + 1;
            }
            index = end;
        }
        return index;
    }

    [GeneratedRegex(@"\bnamespace\s+[\w.]+")]
    private static partial Regex NamespaceDeclaration();

    // Any mention of Ips.X: covers using, using static, global using, aliases and qualified references alike.
    [GeneratedRegex(@"(?<![\w.])Ips\.(?<folder>\w+)")]
    private static partial Regex IpsNamespace();

    [GeneratedRegex(@"(?<![\w.])(?<folder>[A-Z]\w*)(?<rest>(?:\.[A-Z]\w*)+)")]
    private static partial Regex RelativeReference();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(?<type>[A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    /// <summary>Tarjan's strongly connected components of the graph, each sorted by name.</summary>
    private sealed class StronglyConnectedComponents
    {
        private readonly SourceFolderGraph graph;
        private readonly Dictionary<string, int> index = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> lowLink = new(StringComparer.Ordinal);
        private readonly Stack<string> stack = new();
        private readonly HashSet<string> onStack = new(StringComparer.Ordinal);

        public StronglyConnectedComponents(SourceFolderGraph graph)
        {
            this.graph = graph;
            foreach (var folder in graph.uses.Keys.Where(folder => !index.ContainsKey(folder)))
            {
                Visit(folder);
            }
        }

        public List<IReadOnlyList<string>> Components { get; } = [];

        private void Visit(string folder)
        {
            var order = index.Count;
            index[folder] = order;
            lowLink[folder] = order;
            stack.Push(folder);
            onStack.Add(folder);
            foreach (var used in graph.Uses(folder))
            {
                if (!index.ContainsKey(used))
                {
                    Visit(used);
                    lowLink[folder] = Math.Min(lowLink[folder], lowLink[used]);
                }
                else if (onStack.Contains(used))
                {
                    lowLink[folder] = Math.Min(lowLink[folder], index[used]);
                }
            }
            if (lowLink[folder] == index[folder])
            {
                Components.Add(PopComponent(folder));
            }
        }

        private List<string> PopComponent(string root)
        {
            var component = new List<string>();
            string member;
            do
            {
                member = stack.Pop();
                onStack.Remove(member);
                component.Add(member);
            }
            while (member != root);
            return component.Order(StringComparer.Ordinal).ToList();
        }
    }
}
