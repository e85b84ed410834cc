using Ips.Cli.Commands;
using Ips.Data.MegapixelMnist;
using Spectre.Console.Cli;

namespace Ips.Tests.Data;

public sealed class DataCommandsTests
{
    [Fact]
    public void Megapixel_mnist_command_writes_a_dataset_from_the_given_mnist_files()
    {
        using var dir = new TempDir();
        var mnist = Path.Combine(dir.Path, "mnist");
        Directory.CreateDirectory(mnist);
        MnistTestData.WriteSplits(mnist, MnistTestData.Synthetic(100), MnistTestData.Synthetic(50), gz: true);
        var output = Path.Combine(dir.Path, "mpm");

        var app = new CommandApp<MegapixelMnistDataCommand>();
        var code = app.Run([output, "--n-train", "4", "--n-test", "2", "--width", "120", "--height", "100", "--no-noise", "--seed", "7", "--mnist", mnist, "--plain"]);

        Assert.Equal(0, code);
        var parameters = MegapixelMnistParameters.Read(output);
        Assert.Equal((4, 2, 120, 100, false, 7, mnist), (parameters.NTrain, parameters.NTest, parameters.Width, parameters.Height, parameters.Noise, parameters.Seed, parameters.MnistSource));
        Assert.Equal(4, MegapixelMnistSplit.Read(Path.Combine(output, "train.bin")).Count);
    }

    [Fact]
    public void Megapixel_mnist_command_refuses_a_canvas_too_small()
    {
        using var dir = new TempDir();
        var app = new CommandApp<MegapixelMnistDataCommand>();
        Assert.NotEqual(0, app.Run([Path.Combine(dir.Path, "mpm"), "--width", "50", "--plain"]));
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "mpm")));
    }
}
