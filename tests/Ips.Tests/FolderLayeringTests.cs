using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Ips.Tests;

/// <summary>
/// The top-level folders of src/Ips are to form layers: no folder uses, directly or through others, a folder that uses it.
/// Cycles make folders impossible to understand, test or move on their own, and they only grow unless a test stops
/// them; the namespace check keeps the folder a file lies in the same as the namespace the graph reads from its usings.
/// </summary>
public sealed partial class FolderLayeringTests(ITestOutputHelper output)
{
    private static readonly string SourceRoot = RepositoryFiles.Path("src/Ips");

    [Fact]
    public void FoldersOfSrcIpsDoNotUseEachOtherInCycles()
    {
        var graph = SourceFolderGraph.FromSources(SourceFolderGraph.ReadSources(SourceRoot));
        // The graph is written even when the test passes, so that a change to the layering can be seen in its output.
        output.WriteLine(graph.Describe());

        Assert.True(
            graph.Cycles.Count == 0,
            "Folders of src/Ips use each other in cycles; move the code that closes each cycle so that one folder of it "
            + $"no longer uses the other.\n\n{graph.DescribeCycles()}\n\n"
            + $"Folder graph (folder -> the folders it uses):\n{graph.Describe()}");
    }

    // The tests mirror the library's folders, so their namespaces are held to the same rule.
    [Theory]
    [InlineData("src/Ips", "Ips")]
    [InlineData("tests/Ips.Tests", "Ips.Tests")]
    public void EveryFileDeclaresTheNamespaceOfItsFolder(string root, string rootNamespace)
    {
        var deviating = SourceFolderGraph.ReadSources(RepositoryFiles.Path(root))
            .Select(source => (source.RelativePath, Declared: DeclaredNamespace(source.Text), Expected: ExpectedNamespace(rootNamespace, source.RelativePath)))
            .Where(file => file.Declared != file.Expected)
            .Select(file => $"{file.RelativePath}: declares {file.Declared ?? "no file-scoped namespace"}, expected {file.Expected}")
            .ToList();

        Assert.True(deviating.Count == 0, $"Files whose namespace is not their folder's:\n{string.Join('\n', deviating)}");
    }

    [Fact]
    public void TwoFolderCycleIsReportedNamingBothFoldersAndTheFiles()
    {
        var graph = SourceFolderGraph.FromSources(
        [
            ("Imaging/SlideAttentionMap.cs", "using Ips.Slides;\nnamespace Ips.Imaging;\n"),
            ("Slides/SlideReader.cs", "namespace Ips.Slides;\nclass SlideReader { Ips.Imaging.Map? map; }\n"),
        ]);

        Assert.Equal(["Imaging", "Slides"], Assert.Single(graph.Cycles));
        var report = graph.DescribeCycles();
        Assert.Contains("Imaging -> Slides -> Imaging", report, StringComparison.Ordinal);
        Assert.Contains("Imaging -> Slides (Imaging/SlideAttentionMap.cs)", report, StringComparison.Ordinal);
        Assert.Contains("Slides -> Imaging (Slides/SlideReader.cs)", report, StringComparison.Ordinal);
    }

    [Fact]
    public void ThreeFolderCycleIsReportedAsOneCycle()
    {
        var graph = SourceFolderGraph.FromSources(
        [
            ("A/One.cs", "global using Ips.B;\nnamespace Ips.A;\n"),
            ("B/Two.cs", "using Helper = Ips.C.Sub.Helper;\nnamespace Ips.B;\n"),
            ("C/Three.cs", "using static Ips.A.One;\nnamespace Ips.C;\n"),
        ]);

        Assert.Equal(["A", "B", "C"], Assert.Single(graph.Cycles));
        Assert.Contains("A -> B -> C -> A", graph.DescribeCycles(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReferencesInCommentsAndLiteralsAreIgnored()
    {
        const string Prose = """
            namespace Ips.A;
            // using Ips.B;
            /// <see cref="Ips.B.Thing"/>
            /* Ips.B.Thing */
            class One
            {
                char quote = '"';
                string plain = "Ips.B.Thing \" Ips.B.Thing";
                string verbatim = @"Ips.B.Thing "" Ips.B.Thing";
                string interpolated = $"Ips.B.{quote} {(quote == '"' ? "Ips.B.Thing" : "")} Ips.B.Thing";
                Ips.C.Used used;
            }
            """;
        var graph = SourceFolderGraph.FromSources(
        [
            ("A/One.cs", Prose),
            ("B/Two.cs", "using Ips.A;\nnamespace Ips.B;\n"),
            ("C/Three.cs", "namespace Ips.C;\n"),
        ]);

        Assert.Empty(graph.Cycles);
        // The reference after the literals still counts: blanking them did not swallow the code that follows.
        Assert.Equal("A -> C\nB -> A\nC -> (none)", graph.Describe());
    }

    [Fact]
    public void NamespaceDeclarationIsNoDependency()
    {
        var graph = SourceFolderGraph.FromSources(
        [
            ("A/Misplaced.cs", "namespace Ips.B.Inner;\n"),
            ("B/Two.cs", "using Ips.A;\nnamespace Ips.B;\n"),
        ]);

        Assert.Empty(graph.Cycles);
    }

    [Fact]
    public void ReferenceRelativeToIpsCountsWhenItNamesATypeOfThatFolder()
    {
        var graph = SourceFolderGraph.FromSources(
        [
            ("A/Uses.cs", "namespace Ips.A;\nclass Uses { bool F() => B.Flags.On; }\n"),
            ("B/Flags.cs", "using Ips.A;\nnamespace Ips.B;\nstatic class Flags { public static bool On => true; }\n"),
            ("C/Property.cs", "namespace Ips.C;\nclass Property { int B => 1; int G() => B.CompareTo(2); }\n"),
        ]);

        Assert.Equal(["A", "B"], Assert.Single(graph.Cycles));
        Assert.Contains("C -> (none)", graph.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void AcyclicGraphPassesAndListsItsEdges()
    {
        var graph = SourceFolderGraph.FromSources(
        [
            ("A/One.cs", "using Ips.B;\nusing Ips.C.Deep;\nusing Ips.Elsewhere;\nnamespace Ips.A;\n"),
            ("B/Two.cs", "namespace Ips.B;\nclass Two { Ips.C.Three? three; }\n"),
            ("C/Deep/Three.cs", "namespace Ips.C.Deep;\n"),
        ]);

        Assert.Empty(graph.Cycles);
        Assert.Empty(graph.DescribeCycles());
        Assert.Equal("A -> B, C\nB -> C\nC -> (none)", graph.Describe());
    }

    // Only a file-scoped declaration counts: it is the form the project uses, and it names one namespace per file.
    private static string? DeclaredNamespace(string text)
    {
        var declaration = FileScopedNamespace().Match(SourceFolderGraph.CodeOf(text));
        return declaration.Success ? declaration.Groups["name"].Value : null;
    }

    private static string ExpectedNamespace(string rootNamespace, string relativePath)
    {
        var slash = relativePath.LastIndexOf('/');
        return slash < 0 ? rootNamespace : $"{rootNamespace}.{relativePath[..slash].Replace('/', '.')}";
    }

    [GeneratedRegex(@"^\s*namespace\s+(?<name>[\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex FileScopedNamespace();
}
