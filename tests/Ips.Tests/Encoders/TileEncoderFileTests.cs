using Ips.Encoders;
using Ips.Modeling;
using Ips.Tests.Modeling;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Encoders;

/// <summary>What <c>--encoder</c> answers when given a file that is not a tile encoder.</summary>
public sealed class TileEncoderFileTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void A_training_checkpoint_is_named_as_a_model_checkpoint_with_what_encoder_takes()
    {
        var config = ModelFixtures.SmallFeatureConfig() with { DataDir = "features" };
        var checkpoint = _files.File("last.ckpt");
        using (var net = new IpsNet(config))
        {
            using var optimizer = optim.AdamW(net.parameters());
            Checkpoint.Save(checkpoint, net, optimizer, config, CheckpointState.Initial);
        }

        var error = Assert.Throws<ArgumentException>(() => TileEncoder.Open(checkpoint, "auto", CPU));

        Assert.Equal(
            $"--encoder {checkpoint}: this is an IPS model checkpoint (from `ips train`), not a tile encoder; --encoder takes the byol.ckpt of `ips pretrain byol` or a torchvision resnet50/resnet18 state_dict (.pth)",
            error.Message);
    }
}
