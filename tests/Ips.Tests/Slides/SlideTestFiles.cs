namespace Ips.Tests.Slides;

/// <summary>Committed fixtures of the slide tests, found from the repository root.</summary>
internal static class SlideTestFiles
{
    public static string Fixture(string name)
    {
        return RepositoryFiles.Path(Path.Combine("tests", "Ips.Tests", "Slides", "Fixtures", name));
    }
}
