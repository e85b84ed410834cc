using Ips.Configuration;
using Ips.Data;
using Ips.Data.OwnImages;

namespace Ips.Tests.Data.OwnImages;

/// <summary><c>ips config init</c>'s draft: a config that loads and opens the data, choices that fit it, problems named.</summary>
public sealed class StartingConfigTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string Data => _files.File("data");

    [Fact]
    public void TheDraftFitsTheDataAndNamesWhatIsWrong()
    {
        InspectionImages.Write(Data, perClass: 3, testPerClass: 1, size: 256, defectSize: 16, seed: 1);
        Directory.Delete(Path.Combine(Data, "test", "ok"), recursive: true);
        File.WriteAllText(Path.Combine(Data, "train", "ok", "bad.png"), "not a png");

        var draft = StartingConfig.Draft(Data, "resnet18", patchSize: null);
        var config = ConfigLoader.Parse(draft.Yaml, "my.yml");

        Assert.Equal(["defect", "ok"], config.Tasks.Single().Classes);
        Assert.Equal((3, "imagenet", true, 512), (config.NChanIn, config.Normalize, config.Pretrained, config.D));
        Assert.Equal([32, 32], config.PatchSize!);
        Assert.Equal((1, true), (config.BSeq, config.Eager));
        Assert.Null(config.N);
        Assert.True(config.AugFlip);
        Assert.Equal("train/ok/bad.png", Assert.Single(draft.Problems).Where);
        Assert.Contains("note: class 'ok' of task label has no test images, so its test accuracy cannot be measured", draft.Summary);
        Assert.Contains(draft.Summary, line => line.StartsWith("task label (softmax): defect 3 train / 1 test, ok 4 train / 0 test", StringComparison.Ordinal));
        // Every readable image makes at least M patches: M never exceeds the smallest N.
        var train = (OwnImagesDataset)DatasetCatalog.Open(config, train: true, skipBad: true);
        Assert.Equal(6, train.Count);
        Assert.Equal(["train/ok/bad.png"], train.Problems.Select(p => p.Where));
        Assert.All(Enumerable.Range(0, train.Count), i =>
        {
            using var sample = train.Load(i, train: true);
            Assert.True(sample.Patches.Count >= config.M);
        });
    }

    [Fact]
    public void ResNet50AndAGivenPatchSizeAreTakenAndAMultiLabelColumnBecomesASigmoidTask()
    {
        OwnImagesTestData.Png(Path.Combine(Data, "a.png"), 100, 120);
        OwnImagesTestData.Png(Path.Combine(Data, "b.png"), 100, 120);
        File.WriteAllText(Path.Combine(Data, "labels.csv"), "path,label,split,parts\na.png,x,train,\"p;q\"\nb.png,y,test,q\n");

        var config = ConfigLoader.Parse(StartingConfig.Draft(Data, "resnet50", patchSize: 20).Yaml, "my.yml");

        Assert.Equal(("resnet50", false, 2048, "none"), (config.EncType, config.Pretrained, config.D, config.Normalize));
        Assert.Equal([20, 20], config.PatchSize!);
        Assert.Equal((config.B, true), (config.BSeq, config.Eager)); // one size: eager, B_seq B
        Assert.Equal(["label", "parts"], config.Tasks.Select(t => t.Name));
        Assert.Equal(("sigmoid", "multilabel_accuracy", 2), (config.Tasks[1].ActFn, config.Tasks[1].Metric, config.Tasks[1].NClass));
        Assert.Equal(["p", "q"], config.Tasks[1].Classes);
    }

    [Fact]
    public void AFolderWithoutEitherLayoutIsNamed()
    {
        Directory.CreateDirectory(Data);

        var error = Assert.Throws<ArgumentException>(() => StartingConfig.Draft(Data, "resnet18", null));

        Assert.Contains("holds neither class folders", error.Message);
    }
}
