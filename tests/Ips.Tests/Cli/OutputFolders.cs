namespace Ips.Tests.Cli;

/// <summary>Byte comparison of two output folders, for the tests that run one job two ways and expect the same files.</summary>
internal static class OutputFolders
{
    /// <summary>Every file under <paramref name="folder"/> by its relative path, with its bytes.</summary>
    public static SortedDictionary<string, byte[]> Files(string folder) => new(
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(file => Path.GetRelativePath(folder, file), File.ReadAllBytes), StringComparer.Ordinal);

    /// <summary>Asserts that <paramref name="actual"/> holds the same files with the same bytes as <paramref name="expected"/>, the <paramref name="reference"/> run's.</summary>
    public static void AssertSameFiles(string expected, string actual, string reference)
    {
        var (want, got) = (Files(expected), Files(actual));
        Assert.Equal(want.Keys, got.Keys);
        foreach (var (name, bytes) in want)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(got[name]), $"{name} differs from the {reference} run's");
        }
    }
}
