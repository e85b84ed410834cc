using Ips.Configuration;
using Ips.Imaging;
using Ips.IO;
using Ips.Modeling;
using Ips.Tests.Data;
using static TorchSharp.torch;

namespace Ips.Tests.Cli;

/// <summary><c>ips predict</c> says where it wrote the JSON and each attention picture.</summary>
public sealed class PredictWrittenPathsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Predict_prints_the_path_of_the_json_and_of_each_attention_picture()
    {
        var config = CommandLineTests.RepoConfig("mnist-small.yml");
        var weights = Path.Combine(_dir.Path, "image-model.pt");
        manual_seed(2);
        using (var net = new IpsNet(ConfigLoader.Load(config, ["N=4", "patch_size=[50,50]", "patch_stride=[50,50]", "M=2", "I=2"])))
        {
            StateDictIO.Save(net, weights);
        }
        var image = Path.Combine(_dir.Path, "digit.png");
        using (var pixels = rand(1, 100, 100))
        {
            ImageFile.SaveGray(pixels, image);
        }
        var json = Path.Combine(_dir.Path, "p.json");
        var maps = Path.Combine(_dir.Path, "maps");

        using var child = CliProcess.Start(_dir.Path, "predict", "-c", config, "--set", "N=4", "--set", "patch_size=[50,50]", "--set", "patch_stride=[50,50]", "--set", "M=2", "--set", "I=2",
            "-w", weights, image, "--out", json, "--attention-dir", maps);

        Assert.True(child.WaitForExit() == 0, child.Output);
        var lines = child.Output.Split('\n');
        Assert.Contains($"wrote 1 prediction(s) to {json}", lines);
        var picture = Assert.Single(Directory.GetFiles(maps));
        Assert.Contains($"wrote attention map {picture}", lines);
    }
}
