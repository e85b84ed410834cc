using Ips.Data.Camelyon16;

namespace Ips.Tests.Slides;

/// <summary>Committed fixtures of the slide tests, found from the repository root, and the slide they were made from.</summary>
internal static class SlideTestFiles
{
    public static string Fixture(string name)
    {
        return RepositoryFiles.Path(Path.Combine("tests", "Ips.Tests", "Slides", "Fixtures", name));
    }

    /// <summary>
    /// Writes the slide of the resolution fixtures (mpp-golden.json, mpp-level1.png) to <paramref name="path"/>: 896 x 896
    /// LZW, levels 896, 448, 224 at <paramref name="mpp"/>, 2 x and 4 x that; with <paramref name="mpp"/> null the file
    /// records no resolution. Fixtures/write_mpp_slide.cs writes the same file for make_mpp_golden.py.
    /// </summary>
    public static void WriteMppSlide(string path, double? mpp = 0.25)
    {
        var content = new SyntheticTissue(896, 896, seed: 11, tissueFraction: 0.5, blobRadius: 200);
        PyramidalTiffWriter.Write(path, content, new SlideWriteOptions { Compression = SlideCompression.Lzw, TileSize = 128, SmallestLevelSize = 300, MicronsPerPixel = mpp });
    }
}
