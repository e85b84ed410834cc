using Ips.Data;
using Ips.Data.OwnImages;

namespace Ips.Tests.Data.OwnImages;

/// <summary>Every kind of bad data is found when the data set opens: one line each, refused, or left out with skipBad.</summary>
public sealed class BadDataTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Data => _files.File("data");

    [Fact]
    public void EveryBadRowIsOneProblemAndSkippingKeepsTheRest()
    {
        foreach (var name in new[] { "good1", "good2", "good3", "dup", "wrong" })
        {
            OwnImagesTestData.Png(Path.Combine(Data, name + ".png"), 32, 32);
        }
        File.WriteAllBytes(Path.Combine(Data, "broken.png"), File.ReadAllBytes(Path.Combine(Data, "good1.png"))[..60]);
        OwnImagesTestData.Png(Path.Combine(Data, "tiny.png"), 16, 16);
        File.WriteAllText(Path.Combine(Data, "labels.csv"), string.Join('\n',
            "path,label,split",
            "good1.png,cat,train",
            "good2.png,dog,train",
            "good3.png,cat,test",
            "dup.png,dog,train",
            "dup.png,cat,train",
            "missing.png,cat,train",
            "broken.png,dog,train",
            "wrong.png,bird,train",
            "tiny.png,dog,train") + "\n");
        var config = OwnImagesTestData.Config(Data, 3, "tasks.task0.classes=[cat, dog, fish]");

        var refused = Assert.Throws<DataProblemsException>(() => DatasetCatalog.Open(config, train: true));
        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true, skipBad: true);

        var lines = train.Problems.Select(p => p.ToString()).ToList();
        Assert.Equal(6, lines.Count);
        Assert.Contains("labels.csv line 6: dup.png is listed twice (first on line 5); the later row is left out", lines);
        Assert.Contains("missing.png: file not found", lines);
        Assert.Contains(lines, l => l.StartsWith("wrong.png: label 'bird' of task 'label' is not in its class list (cat, dog, fish)", StringComparison.Ordinal));
        Assert.Contains("class 'fish': class 'fish' of task 'label' has no training images (an empty class)", lines);
        Assert.Contains(lines, l => l.StartsWith("broken.png: unreadable image:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("tiny.png: its 16 x 16 pixels make 1 patches, fewer than M (2)", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.DoesNotContain('\n', l));
        Assert.Equal(["good1.png", "good2.png", "dup.png"], train.Entries.Select(e => e.Path));
        Assert.Equal(lines, refused.Problems.Select(p => p.ToString()));
        Assert.All(lines, l => Assert.Contains("  " + l, refused.Message));
        Assert.Contains("--skip-bad", refused.Message);

        // The test split has none of them: a problem belongs to the split of its row.
        var test = (OwnImagesDataset)DatasetCatalog.Open(config, train: false);
        Assert.Empty(test.Problems);
        Assert.Equal(["good3.png"], test.Entries.Select(e => e.Path));
    }

    [Fact]
    public void AnEmptyClassFolderAndAStrayFileAreProblems()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "train", "ok", "a.png"), 32, 32);
        Directory.CreateDirectory(Path.Combine(Data, "train", "defect"));
        File.WriteAllText(Path.Combine(Data, "train", "ok", "notes.txt"), "not an image");
        File.WriteAllText(Path.Combine(Data, "train", "ok", ".DS_Store"), "file system litter");
        OwnImagesTestData.Png(Path.Combine(Data, "test", "ok", "b.png"), 32, 32);
        var config = OwnImagesTestData.Config(Data);

        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true, skipBad: true);

        Assert.Equal(
            ["train/ok/notes.txt: not an image or slide this version reads (extension '.txt'; it reads .png, .jpg, .jpeg, .bmp, .tif, .tiff, .svs, .ndpi, .mrxs, .scn, .bif, .vms, .vmu, .svslide)",
             "train/defect: class 'defect' of task 'label' has no training images (an empty class)"],
            train.Problems.Select(p => p.ToString()));
        Assert.Equal(["train/ok/a.png"], train.Entries.Select(e => e.Path));
    }

    [Fact]
    public void ClassCountsThatDisagreeWithTheConfigNameTheKey()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "train", "a", "1.png"), 32, 32);
        OwnImagesTestData.Png(Path.Combine(Data, "train", "b", "2.png"), 32, 32);
        OwnImagesTestData.Png(Path.Combine(Data, "train", "c", "3.png"), 32, 32);
        var config = OwnImagesTestData.Config(Data, 2);

        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Open(config, train: true));

        Assert.Equal("config own.yml: task 'label' has n_class 2, but the data in '" + Data + "' (class folders) has 3 classes (a, b, c); set n_class: 3 (or list tasks.task0.classes).", error.Message);
    }
}
