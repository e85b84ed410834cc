using System.Globalization;
using Ips.Data.Camelyon16;
using Ips.Slides;
using Ips.Slides.Tiling;

namespace Ips.Tests.Data.OwnImages;

/// <summary>A generated folder of whole slides in class folders, their tile coordinates and a config for them.</summary>
internal static class OwnSlidesTestData
{
    /// <summary>Level-0 size of every slide: 16 x 12 tiles of <see cref="Tile"/>, four pyramid levels down to 128 x 96.</summary>
    public const int Width = 1024, Height = 768, Tile = 64;

    /// <summary>The slides, relative to the data folder: two per class for training, one per class for testing.</summary>
    public static readonly string[] Slides =
        ["train/normal/a.tif", "train/normal/b.tif", "train/tumour/c.tif", "train/tumour/d.tif", "test/normal/e.tif", "test/tumour/f.tif"];

    /// <summary>Writes <see cref="Slides"/> under <paramref name="data"/>: generated tissue, a different layout per slide.</summary>
    public static void WriteSlides(string data)
    {
        var options = new SlideWriteOptions { TileSize = 128, SmallestLevelSize = 128, MicronsPerPixel = 0.5 };
        for (var i = 0; i < Slides.Length; i++)
        {
            var path = Path.Combine(data, Slides[i]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            PyramidalTiffWriter.Write(path, new SyntheticTissue(Width, Height, seed: 11 + i, tissueFraction: 0.3, blobRadius: 150), options);
        }
    }

    /// <summary>Tiles the slide <paramref name="slide"/> (relative to <paramref name="data"/>) as <c>ips slides tile</c> does, into <paramref name="coords"/>.</summary>
    public static void TileSlide(string data, string slide, string coords, int tileSize = Tile)
    {
        var report = SlideTilingJob.Run(Path.Combine(data, slide), coords, new TilingOptions { TileSize = tileSize }, null, path => SlideOpener.Open(path));
        Assert.True(report.Status == SlideTilingStatus.Done, report.Error);
    }

    /// <summary>
    /// A config for the slides: 64-pixel tiles, resnet18 cut after layer2, M <paramref name="m"/>, I 8, lazy loading one
    /// slide at a time, ImageNet normalisation, <c>coords_dir</c> when given.
    /// </summary>
    public static string ConfigText(string data, string? coordsDir, int m = 4, bool eager = false) =>
        string.Create(CultureInfo.InvariantCulture, $"""
            n_epoch: 1
            B: 2
            B_seq: 1
            n_epoch_warmup: 0
            lr: 0.001
            wd: 0.1
            n_class: 2
            data_dir: '{data}'
            {(coordsDir is null ? "" : $"coords_dir: '{coordsDir}'")}
            normalize: 'imagenet'
            n_worker: 0
            eager: {(eager ? "True" : "False")}
            is_image: True
            enc_type: 'resnet18'
            n_chan_in: 3
            n_res_blocks: 2
            n_token: 1
            M: {m}
            I: 8
            patch_size: [{Tile}, {Tile}]
            patch_stride: [{Tile}, {Tile}]
            use_pos: False
            H: 2
            D: 128
            D_k: 16
            D_v: 16
            D_inner: 64
            dropout: 0
            attn_dropout: 0
            tasks:
              task0:
                id: 0
                name: 'label'
                act_fn: 'softmax'
                metric: 'accuracy'
            """);
}
