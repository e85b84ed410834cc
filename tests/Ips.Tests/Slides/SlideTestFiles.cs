namespace Ips.Tests.Slides;

/// <summary>Committed fixtures of the slide tests, found from the repository root.</summary>
internal static class SlideTestFiles
{
    public static string Fixture(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Ips.sln")))
        {
            directory = directory.Parent;
        }
        return Path.Combine(
            directory?.FullName ?? throw new InvalidOperationException("repository root not found"),
            "tests", "Ips.Tests", "Slides", "Fixtures", name);
    }
}
