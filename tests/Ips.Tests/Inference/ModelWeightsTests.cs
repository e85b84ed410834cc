using Ips.Inference;
using Ips.Modeling;
using Ips.Tests.Modeling;
using Ips.Training;
using static TorchSharp.torch;

namespace Ips.Tests.Inference;

/// <summary>Weights for predict and evaluate: a state_dict file, or the model of a checkpoint read from the archive itself.</summary>
public sealed class ModelWeightsTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void A_checkpoints_model_equals_its_extracted_state_dict_and_a_mismatch_names_the_entry()
    {
        // A checkpoint's config is one that passed validation, data_dir included.
        var config = ModelFixtures.SmallFeatureConfig() with { DataDir = "features" };
        var checkpoint = _files.File("last.ckpt");
        var extracted = _files.File("model.pt");
        using (var net = new IpsNet(config))
        {
            using var optimizer = optim.AdamW(net.parameters());
            Checkpoint.Save(checkpoint, net, optimizer, config, CheckpointState.Initial);
        }
        Checkpoint.ExtractModel(checkpoint, extracted);

        using var fromCheckpoint = ModelWeights.Load(config, checkpoint);
        using var fromFile = ModelWeights.Load(config, extracted);
        var expected = fromFile.state_dict();
        foreach (var (name, tensor) in fromCheckpoint.state_dict())
        {
            Assert.True(tensor.eq(expected[name]).all().item<bool>(), $"{name} differs");
        }
        Assert.Null(ModelWeights.TrainedWith(extracted));
        Assert.Equal(config.M, ModelWeights.TrainedWith(checkpoint)?.M);

        var wider = config with { D = 16 };
        var error = Assert.Throws<InvalidDataException>(() => ModelWeights.Load(wider, checkpoint));
        Assert.StartsWith($"{checkpoint}:model.pt: the state_dict does not match the model: ", error.Message, StringComparison.Ordinal);
    }
}
