using System.Text.Json;
using Ips.Data.Camelyon16;
using Ips.Imaging;
using Ips.Slides;
using Ips.Slides.Annotations;
using Ips.Slides.Tiling;
using SkiaSharp;

namespace Ips.Tests.Slides;

/// <summary>What <c>ips slides tile</c> writes for a person to look at: the QC picture and the QuPath GeoJSON of the tissue tiles.</summary>
public sealed class TileExportsTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    // A 2048 x 1536 slide at 0.5 um per pixel with a square lesion annotated, tiled in 128-pixel tiles.
    private (string Slide, string Out, string GeoJson, TileCoords Coords) Tile()
    {
        var slide = _files.File("tumor_001.tif");
        PyramidalTiffWriter.Write(slide, new SyntheticTissue(2048, 1536, seed: 3, tissueFraction: 0.4, blobRadius: 400),
            new SlideWriteOptions { Compression = SlideCompression.Lzw, TileSize = 256, SmallestLevelSize = 256, MicronsPerPixel = 0.5 });
        var annotations = _files.File("annotations");
        Directory.CreateDirectory(annotations);
        AsapAnnotations.Write(Path.Combine(annotations, "tumor_001.xml"), [new AnnotationPolygon("lesion", [512, 1280, 1280, 512], [256, 256, 1024, 1024])]);
        string outDir = _files.File("out"), geoJson = _files.File("geojson");

        SlideTilingJob.Run(slide, outDir, new TilingOptions { TileSize = 128 }, annotations, p => SlideOpener.Open(p), geoJsonDirectory: geoJson);

        return (slide, outDir, geoJson, TileCoordsFile.Read(Path.Combine(outDir, "tumor_001.h5")));
    }

    [Fact]
    public void The_geojson_holds_every_tissue_tile_as_a_QuPath_detection_with_its_box_and_fractions()
    {
        var (_, _, geoJson, coords) = Tile();

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(geoJson, "tumor_001.geojson")));
        var root = json.RootElement;
        Assert.Equal("FeatureCollection", root.GetProperty("type").GetString());
        var features = root.GetProperty("features").EnumerateArray().ToList();
        Assert.Equal(coords.Count, features.Count);
        Assert.True(coords.Count > 10, $"{coords.Count} tiles");
        Assert.Contains(coords.TumourFraction, f => f >= 0.5f);
        Assert.Contains(coords.TumourFraction, f => f < 0.5f);
        for (int i = 0; i < coords.Count; i++)
        {
            var feature = features[i];
            Assert.Equal("Feature", feature.GetProperty("type").GetString());
            Assert.Equal("Polygon", feature.GetProperty("geometry").GetProperty("type").GetString());
            int x = coords.Coords[i, 0], y = coords.Coords[i, 1];
            var ring = feature.GetProperty("geometry").GetProperty("coordinates")[0].EnumerateArray()
                .Select(p => (p[0].GetInt32(), p[1].GetInt32())).ToArray();
            Assert.Equal([(x, y), (x + 128, y), (x + 128, y + 128), (x, y + 128), (x, y)], ring);
            var properties = feature.GetProperty("properties");
            Assert.Equal("detection", properties.GetProperty("objectType").GetString());
            Assert.Equal(coords.TumourFraction[i] >= 0.5f ? "Tumor" : "Tissue", properties.GetProperty("classification").GetProperty("name").GetString());
            Assert.Equal(3, properties.GetProperty("classification").GetProperty("color").GetArrayLength());
            var measurements = properties.GetProperty("measurements");
            Assert.Equal(coords.TissueFraction[i], (float)measurements.GetProperty("tissue fraction").GetDouble());
            Assert.Equal(coords.TumourFraction[i], (float)measurements.GetProperty("tumour fraction").GetDouble());
        }
    }

    [Fact]
    public void The_QC_picture_has_a_title_a_scale_bar_and_a_tint_that_lets_the_stain_show()
    {
        var (slide, outDir, _, coords) = Tile();

        using var picture = SKBitmap.Decode(SlideTilingJob.QcPath(outDir, slide));
        SlideThumbnail thumbnail;
        using (var opened = SlideOpener.Open(slide))
        {
            thumbnail = opened.ReadThumbnail(SlideTilingJob.ThumbnailSide);
        }
        Assert.Equal(thumbnail.Width + 2 * PictureFrame.BodyLeft, picture.Width);
        // Title text in the first line.
        int dark = Enumerable.Range(8, PictureFrame.LineHeight).Sum(y => Enumerable.Range(0, 300).Count(x => picture.GetPixel(x, y).Red < 100));
        Assert.True(dark > 50, $"{dark} dark pixels in the title");
        // 0.5 um per level-0 pixel, downsample 2: 1 um per picture pixel, so the bar is 100 um, 100 pixels.
        var scale = new PictureFrame { MicronsPerPixel = 1 }.ScaleBarRect(thumbnail.Height)!.Value;
        Assert.Equal(SKColors.Black, picture.GetPixel(scale.Left + 1, scale.MidY));
        Assert.Equal(SKColors.Black, picture.GetPixel(scale.Right - 1, scale.MidY));
        Assert.Equal(SKColors.White, picture.GetPixel(scale.Right + 2, scale.MidY));
        // At the most stained centre of a whole-tissue tile the tint is visible, yet the stain's red keeps most of its value.
        var (tx, ty) = Enumerable.Range(0, coords.Count).Where(i => coords.TissueFraction[i] == 1)
            .Select(i => ((coords.Coords[i, 0] + 64) / 2, (coords.Coords[i, 1] + 64) / 2))
            .MinBy(p => thumbnail.Rgb[(p.Item2 * thumbnail.Width + p.Item1) * 3 + 1]);
        var qc = picture.GetPixel(PictureFrame.BodyLeft + tx, PictureFrame.BodyTop + ty);
        int at = (ty * thumbnail.Width + tx) * 3;
        var (r, g) = (thumbnail.Rgb[at], thumbnail.Rgb[at + 1]);
        Assert.True(g < 200, $"the most stained tile centre is ({r}, {g})");
        Assert.True(qc.Green > g, $"tinted {qc}, slide ({r}, {g})");
        Assert.True(qc.Red >= 0.7 * r, $"tinted {qc}, slide ({r}, {g})");
    }
}
