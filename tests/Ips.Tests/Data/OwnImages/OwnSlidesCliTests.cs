using System.IO.Compression;
using System.Text.Json;
using Ips.Slides.Tiling;
using Ips.Tests.Cli;

namespace Ips.Tests.Data.OwnImages;

/// <summary>
/// A folder of whole slides trained end to end from the command line: tiled by <c>ips slides tile</c>, a slide that
/// does not open listed by the data check and the dry run, one epoch of training on the tissue tiles, and a prediction
/// whose selected tiles are tissue tiles of the slide's coordinates file.
/// </summary>
public sealed class OwnSlidesCliTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ASlideFolderTrainsForOneEpochOnItsTissueTiles()
    {
        var data = _files.File("data");
        var coords = Path.Combine(data, "coords");
        OwnSlidesTestData.WriteSlides(data);
        var (code, text) = CliProcess.Run(_files.Root, "slides", "tile", Path.Combine(data, "train"), Path.Combine(data, "test"),
            "--out", coords, "--tile-size", "64", "--plain");
        Assert.True(code == 0, text);
        var config = _files.File("slides.yml");
        File.WriteAllText(config, OwnSlidesTestData.ConfigText(data, "coords"));
        var broken = Path.Combine(data, "train", "normal", "broken.svs");
        File.WriteAllText(broken, "not a slide");
        var run = _files.File("run");

        (code, text) = CliProcess.Run(_files.Root, "config", "check", config, "--plain");
        Assert.Equal(1, code);
        Assert.Contains("problem: train/normal/broken.svs: the slide does not open: ", text);
        (code, text) = CliProcess.Run(_files.Root, "train", "-c", config, "--run-dir", run, "--dry-run", "--plain");
        Assert.Equal(1, code);
        Assert.Contains("train/normal/broken.svs: the slide does not open: ", text);
        Assert.False(Directory.Exists(run), "a dry run leaves no run directory");
        File.Delete(broken);

        (code, text) = CliProcess.Run(_files.Root, "train", "-c", config, "--run-dir", run, "--plain");
        Assert.True(code == 0, text);
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.Equal("epoch,lr,train_label_loss,train_label_accuracy,test_label_loss,test_label_accuracy", metrics[0]);
        var row = Assert.Single(metrics.Skip(1)).Split(',');
        Assert.Equal("1", row[0]);
        Assert.All(row.Skip(2), value => Assert.True(double.IsFinite(double.Parse(value, System.Globalization.CultureInfo.InvariantCulture)), metrics[1]));
        using (var checkpoint = ZipFile.OpenRead(Path.Combine(run, "last.ckpt")))
        {
            Assert.Superset(new HashSet<string> { "model.pt", "state.json", "config.yml" }, checkpoint.Entries.Select(e => e.FullName).ToHashSet());
        }
        Assert.Contains("classes: ['normal', 'tumour']", File.ReadAllText(Path.Combine(run, "config.yml")));

        var slide = Path.Combine(data, "test", "tumour", "f.tif");
        var tiles = TileCoordsFile.Read(Path.Combine(coords, "f.h5"));
        var tissue = Enumerable.Range(0, tiles.Count).Select(i => (tiles.Coords[i, 0], tiles.Coords[i, 1])).ToHashSet();
        var predictions = _files.File("predictions.json");
        (code, text) = CliProcess.Run(_files.Root, "predict", "-c", Path.Combine(run, "config.yml"), "-w", Path.Combine(run, "best-model.pt"),
            slide, "--coords", Path.Combine(coords, "f.h5"), "--out", predictions, "--plain");
        Assert.True(code == 0, text);
        using var document = JsonDocument.Parse(File.ReadAllText(predictions));
        var entry = document.RootElement[0];
        Assert.Equal(tiles.Count, entry.GetProperty("patch_count").GetInt32());
        var selected = entry.GetProperty("selected").EnumerateArray().Select(p => p.GetProperty("box")).ToList();
        Assert.Equal(4, selected.Count); // M
        Assert.All(selected, box => Assert.Contains((box.GetProperty("x").GetInt32(), box.GetProperty("y").GetInt32()), tissue));
        Assert.All(selected, box => Assert.True(tiles.TissueFraction[IndexOf(tiles, box.GetProperty("x").GetInt32(), box.GetProperty("y").GetInt32())] > 0));
        Assert.Contains($"{slide}: label ", text);
    }

    private static int IndexOf(TileCoords tiles, int x, int y) =>
        Enumerable.Range(0, tiles.Count).First(i => tiles.Coords[i, 0] == x && tiles.Coords[i, 1] == y);
}
