#:project ../../../../src/Ips/Ips.csproj
namespace Ips.Tests.Slides.Fixtures;

using Ips.Data.Camelyon16;

/// <summary>
/// Writes the slide of MagnificationTilingTests' golden fixture (run by make_mpp_golden.sh): the same content and
/// options as MagnificationTilingTests.WriteMppSlide, which checks that its file's SHA-256 equals the one recorded.
/// </summary>
internal static class WriteMppSlide
{
    public static void Main(string[] args)
    {
        var content = new SyntheticTissue(896, 896, seed: 11, tissueFraction: 0.5, blobRadius: 200);
        PyramidalTiffWriter.Write(args[0], content, new SlideWriteOptions { Compression = SlideCompression.Lzw, TileSize = 128, SmallestLevelSize = 300, MicronsPerPixel = 0.25 });
    }
}
