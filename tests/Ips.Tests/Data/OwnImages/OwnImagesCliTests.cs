using System.Text.Json;
using Ips.Tests.Cli;

namespace Ips.Tests.Data.OwnImages;

/// <summary>
/// Your own images from the command line: the data check lists a bad file, train refuses it or skips it, a batch of
/// images of different sizes, orientations and formats (16-bit TIFF among them) trains, and evaluate and predict name
/// the classes.
/// </summary>
public sealed class OwnImagesCliTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void BadDataIsListedRefusedOrSkippedAndResultsNameTheClasses()
    {
        var data = _files.File("data");
        OwnImagesTestData.Png(Path.Combine(data, "train", "scratch", "wide.png"), 40, 90, grey: 0.2f);
        OwnImagesTestData.Png(Path.Combine(data, "train", "scratch", "tall.png"), 70, 36, grey: 0.3f);
        OwnImagesTestData.Tiff16(Path.Combine(data, "train", "clean", "deep.tif"), 48, 64, 3, tiled: true);
        OwnImagesTestData.Png(Path.Combine(data, "train", "clean", "square.png"), 50, 50, grey: 0.8f);
        File.WriteAllText(Path.Combine(data, "train", "clean", "broken.jpg"), "not a jpeg");
        OwnImagesTestData.Png(Path.Combine(data, "test", "scratch", "t1.png"), 33, 47, grey: 0.2f);
        OwnImagesTestData.Png(Path.Combine(data, "test", "clean", "t2.png"), 47, 33, grey: 0.8f);
        var config = _files.File("own.yml");
        File.WriteAllText(config, OwnImagesTestData.ConfigText(data));
        var run = _files.File("run");

        var (code, text) = CliProcess.Run(_files.Root, "config", "check", config, "--plain");
        Assert.Equal(1, code);
        Assert.Contains("# task label: clean 2 train / 1 test, scratch 2 train / 1 test", text);
        Assert.Contains("problem: train/clean/broken.jpg: unreadable image:", text);

        (code, text) = CliProcess.Run(_files.Root, "train", "-c", config, "--run-dir", run, "--plain");
        Assert.Equal(1, code);
        Assert.Contains("1 problem(s); fix them, or add --skip-bad", text);
        Assert.Contains("train/clean/broken.jpg: unreadable image", text);
        Assert.False(Directory.Exists(run), "a refused run leaves no run directory");

        (code, text) = CliProcess.Run(_files.Root, "train", "-c", config, "--run-dir", run, "--skip-bad", "--plain");
        Assert.True(code == 0, text);
        Assert.Contains("skipped: train/clean/broken.jpg: unreadable image", text);
        Assert.Contains("classes: ['clean', 'scratch']", File.ReadAllText(Path.Combine(run, "config.yml")));
        Assert.Equal("epoch,lr,train_label_loss,train_label_accuracy,test_label_loss,test_label_accuracy",
            File.ReadLines(Path.Combine(run, "metrics.csv")).First());

        var scores = _files.File("scores.json");
        (code, text) = CliProcess.Run(_files.Root, "evaluate", "-c", config, "-w", Path.Combine(run, "last.ckpt"), "--skip-bad", "--out", scores, "--plain");
        Assert.True(code == 0, text);
        Assert.Contains("balanced accuracy", text);
        using (var document = JsonDocument.Parse(File.ReadAllText(scores)))
        {
            var perClass = document.RootElement.GetProperty("tasks").GetProperty("label").GetProperty("perClass");
            Assert.Equal(["clean", "scratch"], perClass.GetProperty("classes").EnumerateArray().Select(c => c.GetString()));
            var confusion = perClass.GetProperty("confusion").EnumerateArray().Select(r => r.EnumerateArray().Select(n => n.GetInt32()).ToArray()).ToArray();
            Assert.Equal([1, 1], confusion.Select(row => row.Sum()));
            var accuracy = perClass.GetProperty("accuracy");
            Assert.Equal(confusion[0][0], accuracy.GetProperty("clean").GetDouble());
            Assert.Equal((confusion[0][0] + confusion[1][1]) / 2.0, perClass.GetProperty("balancedAccuracy").GetDouble(), 6);
        }

        var predictions = _files.File("predictions.json");
        var photo = Path.Combine(data, "test", "clean", "t2.png");
        (code, text) = CliProcess.Run(_files.Root, "predict", "-c", Path.Combine(run, "config.yml"), "-w", Path.Combine(run, "best-model.pt"), photo, "--out", predictions, "--plain");
        Assert.True(code == 0, text);
        using (var document = JsonDocument.Parse(File.ReadAllText(predictions)))
        {
            var entry = document.RootElement[0];
            var predicted = entry.GetProperty("predicted").GetProperty("label")[0];
            var probabilities = entry.GetProperty("probabilities").GetProperty("label").EnumerateArray().Select(p => p.GetSingle()).ToArray();
            var best = Array.IndexOf(probabilities, probabilities.Max());
            Assert.Equal(new[] { "clean", "scratch" }[best], predicted.GetProperty("class").GetString());
            Assert.Equal(probabilities[best], predicted.GetProperty("probability").GetSingle());
            Assert.Equal(9, entry.GetProperty("patch_count").GetInt32()); // 33 x 47 padded to 48 x 48: 3 x 3 patches of 16
            Assert.Contains($"{photo}: label {predicted.GetProperty("class").GetString()} (", text);
        }
    }
}
