using Ips.Configuration;
using Ips.Data;
using Ips.Data.OwnImages;
using Ips.Encoders;
using Ips.Slides;
using Ips.Slides.Tiling;
using static TorchSharp.torch;

namespace Ips.Tests.Data.OwnImages;

/// <summary>
/// Whole slides as your own data (docs/own-data.md, "Slides"): a slide's patches are its coordinates file's tissue
/// tiles or level 0's whole grid, read from the slide as asked; bad slides are one line each; config init drafts for slides.
/// </summary>
public sealed class OwnSlidesDatasetTests : IDisposable
{
    private readonly TempFiles _files = new();

    public OwnSlidesDatasetTests()
    {
        OwnSlidesTestData.WriteSlides(Data);
    }

    public void Dispose() => _files.Dispose();

    private string Data => _files.File("data");

    private string Coords => Path.Combine(Data, "coords");

    [Fact]
    public void WithoutCoordsEveryTileOfLevel0sGridIsAPatchReadFromTheSlide()
    {
        var config = ConfigLoader.Parse(OwnSlidesTestData.ConfigText(Data, coordsDir: null), "slides.yml", ["normalize='none'"]);

        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true);

        Assert.Equal(4, train.Count);
        Assert.All(Enumerable.Range(0, train.Count), i => Assert.True(train.IsSlide(i)));
        using var sample = train.Load(2, train: true);
        Assert.Equal("train/tumour/c.tif", sample.Id);
        Assert.Equal(16 * 12, sample.Patches.Count);
        Assert.Equal([3L, 64, 64], sample.Patches.PatchShape);
        // Patch 37 is row 2, column 5 of the row-major grid: the slide's pixels there, scaled to [0, 1].
        using var patch = sample.Patches.Gather([37]);
        using var slide = SlideOpener.Open(Path.Combine(Data, "train/tumour/c.tif"));
        Assert.Equal(Planes(slide.ReadRegion(0, 5 * 64, 2 * 64, 64, 64)), patch[0].data<float>().ToArray());
    }

    [Fact]
    public void WithCoordsTheTissueTilesArePatchesNormalisedForThePretrainedEncoder()
    {
        foreach (var name in OwnSlidesTestData.Slides)
        {
            OwnSlidesTestData.TileSlide(Data, name, Coords);
        }
        var config = ConfigLoader.Parse(OwnSlidesTestData.ConfigText(Data, "coords"), "slides.yml");

        var test = (OwnImagesDataset)DatasetCatalog.Open(config, train: false);

        Assert.Equal(["test/normal/e.tif", "test/tumour/f.tif"], test.Entries.Select(e => e.Path));
        var tiles = TileCoordsFile.Read(Path.Combine(Coords, "f.h5"));
        Assert.InRange(tiles.Count, 20, 16 * 12 - 20); // tissue only: neither none nor the whole grid
        using var sample = test.Load(1, train: false);
        Assert.Equal(tiles.Count, sample.Patches.Count);
        var last = tiles.Count - 1;
        using var patch = sample.Patches.Read(last, 1);
        using var slide = SlideOpener.Open(Path.Combine(Data, "test/tumour/f.tif"));
        using var expected = ImageNetNormalisation.Apply(tensor(Planes(slide.ReadRegion(0, tiles.Coords[last, 0], tiles.Coords[last, 1], 64, 64))).view(3, 64, 64));
        Assert.True(allclose(expected, patch[0], rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void ASlideThatDoesNotOpenAMissingCoordsFileAnotherTileSizeAndASharedNameAreOneLineEach()
    {
        foreach (var slide in OwnSlidesTestData.Slides.Where(s => s != "train/tumour/d.tif" && s != "train/tumour/c.tif"))
        {
            OwnSlidesTestData.TileSlide(Data, slide, Coords);
        }
        OwnSlidesTestData.TileSlide(Data, "train/tumour/c.tif", Coords, tileSize: 32);
        File.WriteAllText(Path.Combine(Data, "train", "normal", "broken.svs"), "not a slide");
        File.Copy(Path.Combine(Data, "train", "normal", "a.tif"), Path.Combine(Data, "train", "tumour", "a.tif"));
        var config = ConfigLoader.Parse(OwnSlidesTestData.ConfigText(Data, "coords"), "slides.yml");

        var refused = Assert.Throws<DataProblemsException>(() => DatasetCatalog.Open(config, train: true));
        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true, skipBad: true);

        var lines = train.Problems.Select(p => p.ToString()).ToList();
        Assert.Equal(4, lines.Count);
        Assert.StartsWith("train/normal/broken.svs: the slide does not open: ", lines[0]);
        Assert.Equal(
            "train/tumour/c.tif: c.h5 in coords_dir holds tiles of 32 px, but patch_size is [64, 64]; set patch_size and patch_stride to [32, 32], or tile again with --tile-size 64",
            lines[1]);
        Assert.Equal(
            $"train/tumour/d.tif: no tile coordinates file d.h5 in coords_dir '{Coords}'; run `ips slides tile` on the slide with --out {Coords} --tile-size 64",
            lines[2]);
        Assert.Equal("train/tumour/a.tif: shares its name with train/normal/a.tif, and coords_dir holds one a.h5 per name; rename one of them and tile it again", lines[3]);
        Assert.Equal(lines, refused.Problems.Select(p => p.ToString()));
        Assert.Equal(["train/normal/a.tif", "train/normal/b.tif"], train.Entries.Select(e => e.Path));
    }

    [Fact]
    public void WhatSlidesCannotDoIsRefusedNamingTheKey()
    {
        var eager = ConfigLoader.Parse(OwnSlidesTestData.ConfigText(Data, coordsDir: null, eager: true), "slides.yml");
        var flips = ConfigLoader.Parse(OwnSlidesTestData.ConfigText(Data, coordsDir: null), "slides.yml", ["aug_flip=True"]);

        Assert.Contains("holds whole slides; slides are streamed tile by tile from disk, never held whole; set eager: False",
            Assert.Throws<ArgumentException>(() => DatasetCatalog.Open(eager, train: true)).Message);
        Assert.Contains("the aug_* keys transform whole images, and slide tiles are read as they are; remove them",
            Assert.Throws<ArgumentException>(() => DatasetCatalog.Open(flips, train: true)).Message);
    }

    [Fact]
    public void ConfigInitDraftsALazySlideConfigFromTheCoordsFiles()
    {
        foreach (var slide in OwnSlidesTestData.Slides)
        {
            OwnSlidesTestData.TileSlide(Data, slide, Coords, tileSize: 128);
        }

        var draft = StartingConfig.Draft(Data, "resnet18", patchSize: null, coordsDir: Coords);
        var config = ConfigLoader.Parse(draft.Yaml, "my.yml");

        Assert.Equal([128, 128], config.PatchSize!);
        Assert.Equal((false, 1, Coords, "imagenet", 3), (config.Eager, config.BSeq, config.CoordsDir, config.Normalize, config.NChanIn));
        Assert.False(config.AugFlip || config.AugRot90 || config.AugTranslate > 0 || config.AugColorJitter > 0);
        Assert.Empty(draft.Problems);
        Assert.Contains(draft.Summary, line => line.StartsWith($"slides: 6 usable, level 0 width 1024..1024, height 768..768 pixels; tiles of 128 x 128 from the coordinates files in {Coords}", StringComparison.Ordinal));
        var fewest = OwnSlidesTestData.Slides.Min(s => TileCoordsFile.Read(Path.Combine(Coords, Path.GetFileNameWithoutExtension(s) + ".h5")).Count);
        Assert.InRange(config.M, 2, fewest);
        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true);
        Assert.Equal(4, train.Count);
    }

    [Fact]
    public void ConfigInitSaysItCannotDraftForSlidesAndImagesTogether()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "train", "normal", "photo.png"), 64, 64);

        var error = Assert.Throws<ArgumentException>(() => StartingConfig.Draft(Data, "resnet18", patchSize: null));

        Assert.Contains("holds both whole slides (6, such as train/normal/a.tif) and images (1, such as train/normal/photo.png)", error.Message);
    }

    // RGB bytes [h, w, 3] as planes [3, h, w] in [0, 1], the layout and scale of a slide tile source.
    private static float[] Planes(byte[] rgb)
    {
        var plane = rgb.Length / 3;
        var planes = new float[rgb.Length];
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                planes[c * plane + p] = rgb[p * 3 + c] / 255f;
            }
        }
        return planes;
    }
}
