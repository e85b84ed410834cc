using Ips.IO;
using Ips.Modeling;
using Ips.Tests.Modeling;
using static TorchSharp.torch;

namespace Ips.Tests.IO;

/// <summary>PyTorch state_dict interchange: official names, round trips, and errors that name what is wrong.</summary>
public sealed class StateDictIOTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "ips-statedict-" + Guid.NewGuid().ToString("N"));

    public StateDictIOTests() => Directory.CreateDirectory(directory);

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Theory]
    [InlineData("model.pt")]
    [InlineData("model.pth")]
    [InlineData("model.safetensors")]
    public void RoundTripGivesIdenticalOutputs(string fileName)
    {
        var config = ModelFixtures.SmallImageConfig();
        using var source = new IpsNet(config);
        using var patches = ModelFixtures.FormulaTensor(new long[] { 2, 3, 1, 16, 16 });
        using var pos = PositionsOf(source);
        source.train();
        using (no_grad())
        {
            DisposeAll(source.forward(patches, pos)); // moves the BatchNorm running statistics off their initial values
        }
        var path = Path.Combine(directory, fileName);
        StateDictIO.Save(source, path);

        using var loaded = new IpsNet(config);
        StateDictIO.Load(loaded, path);

        source.eval();
        loaded.eval();
        var expected = source.forward(patches, pos);
        var actual = loaded.forward(patches, pos);
        foreach (var task in config.Tasks)
        {
            Assert.True(expected[task.Name].allclose(actual[task.Name], rtol: 0, atol: 0), task.Name);
        }
        foreach (var (key, value) in source.state_dict())
        {
            Assert.True(value.allclose(loaded.state_dict()[key], rtol: 0, atol: 0), key);
        }
        Assert.Equal(new[] { fileName }, Directory.GetFiles(directory).Select(Path.GetFileName)); // no temp file left
        DisposeAll(expected);
        DisposeAll(actual);
    }

    [Fact]
    public void StateDictUsesTheOfficialNames()
    {
        using var net = new IpsNet(ModelFixtures.SmallImageConfig());
        var expected = new List<string> { "encoder.0.weight" };
        expected.AddRange(BatchNorm("encoder.1"));
        foreach (var (layer, downsampleBlock) in new[] { ("encoder.4", -1), ("encoder.5", 0) })
        {
            for (var block = 0; block < 2; block++)
            {
                var prefix = $"{layer}.{block}";
                expected.Add($"{prefix}.conv1.weight");
                expected.AddRange(BatchNorm($"{prefix}.bn1"));
                expected.Add($"{prefix}.conv2.weight");
                expected.AddRange(BatchNorm($"{prefix}.bn2"));
                if (block == downsampleBlock)
                {
                    expected.Add($"{prefix}.downsample.0.weight");
                    expected.AddRange(BatchNorm($"{prefix}.downsample.1"));
                }
            }
        }
        expected.AddRange(new[]
        {
            "transf.crs_attn.q", "transf.crs_attn.q_w.weight", "transf.crs_attn.k_w.weight", "transf.crs_attn.v_w.weight",
            "transf.crs_attn.fc.weight", "transf.crs_attn.layer_norm.weight", "transf.crs_attn.layer_norm.bias",
            "transf.mlp.w_1.weight", "transf.mlp.w_1.bias", "transf.mlp.w_2.weight", "transf.mlp.w_2.bias",
            "transf.mlp.layer_norm.weight", "transf.mlp.layer_norm.bias",
        });
        foreach (var task in new[] { "majority", "max", "top", "multi" })
        {
            expected.Add($"output_layers.{task}.0.weight");
            expected.Add($"output_layers.{task}.0.bias");
        }

        Assert.Equal(expected.Order(StringComparer.Ordinal), net.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 64, 1, 7, 7 }, net.state_dict()["encoder.0.weight"].shape);
        Assert.Equal(new long[] { 1, 4, 128 }, net.state_dict()["transf.crs_attn.q"].shape);

        // The file written carries exactly these names.
        var path = Path.Combine(directory, "names.pt");
        StateDictIO.Save(net, path);
        var read = StateDictIO.ReadStateDict(path);
        Assert.Equal(expected.Order(StringComparer.Ordinal), read.Keys.Order(StringComparer.Ordinal));
        DisposeAll(read);
    }

    [Fact]
    public void MisshapedTensorIsNamedWithBothShapes()
    {
        var path = Path.Combine(directory, "small.safetensors");
        using (var saved = new IpsNet(ModelFixtures.SmallFeatureConfig()))
        {
            StateDictIO.Save(saved, path);
        }
        using var other = new IpsNet(ModelFixtures.SmallFeatureConfig() with { DInner = 32 });

        var error = Assert.Throws<InvalidDataException>(() => StateDictIO.Load(other, path));

        Assert.Contains(path, error.Message);
        Assert.Contains("transf.mlp.w_1.weight: file [16, 8], model [32, 8]", error.Message);
        Assert.Contains("transf.mlp.w_2.weight: file [8, 16], model [8, 32]", error.Message);
        Assert.DoesNotContain("missing", error.Message);
    }

    [Fact]
    public void MissingAndUnexpectedKeysAreAllListedAndNothingIsLoaded()
    {
        var path = Path.Combine(directory, "tasks.pt");
        using (var saved = new IpsNet(ModelFixtures.SmallFeatureConfig()))
        {
            StateDictIO.Save(saved, path);
        }
        var config = ModelFixtures.SmallFeatureConfig() with
        {
            Tasks = new[] { ModelFixtures.Task("cls", 0, "softmax", 3), ModelFixtures.Task("other", 1, "sigmoid", 1) },
        };
        using var net = new IpsNet(config);
        using var before = net.state_dict()["transf.crs_attn.q"].clone();

        var error = Assert.Throws<InvalidDataException>(() => StateDictIO.Load(net, path));

        // One line: the file, the count and the first three keys; every key in the details (--verbose).
        Assert.Equal($"{path}: the state_dict does not match the model: 4 key(s) differ (2 missing, 2 unexpected), e.g. "
            + "output_layers.other.0.bias; output_layers.other.0.weight; output_layers.bin.0.bias; ...", error.Message);
        var details = StateDictMismatch.Details(error);
        Assert.Contains("missing keys (2): output_layers.other.0.bias, output_layers.other.0.weight", details);
        Assert.Contains("unexpected keys (2): output_layers.bin.0.bias, output_layers.bin.0.weight", details);
        Assert.True(net.state_dict()["transf.crs_attn.q"].allclose(before, rtol: 0, atol: 0));
    }

    [Fact]
    public void BadPathsGiveClearErrors()
    {
        using var net = new IpsNet(ModelFixtures.SmallFeatureConfig());
        var missing = Path.Combine(directory, "absent.pt");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => StateDictIO.Load(net, missing)).Message);
        Assert.Contains(".ckpt", Assert.Throws<ArgumentException>(() => StateDictIO.Save(net, Path.Combine(directory, "m.ckpt"))).Message);

        var garbage = Path.Combine(directory, "garbage.pth");
        File.WriteAllText(garbage, "not a zip");
        Assert.Contains(garbage, Assert.Throws<InvalidDataException>(() => StateDictIO.Load(net, garbage)).Message);
    }

    [Fact]
    public void SaveOverwritesAnExistingFile()
    {
        var path = Path.Combine(directory, "again.pt");
        File.WriteAllText(path, "old");
        using var net = new IpsNet(ModelFixtures.SmallFeatureConfig());
        StateDictIO.Save(net, path);
        using var loaded = new IpsNet(ModelFixtures.SmallFeatureConfig());
        StateDictIO.Load(loaded, path);
        Assert.True(net.state_dict()["transf.crs_attn.q"].allclose(loaded.state_dict()["transf.crs_attn.q"], rtol: 0, atol: 0));
        Assert.Single(Directory.GetFiles(directory));
    }

    private static Tensor PositionsOf(IpsNet net) =>
        net.PositionalEncoding!.narrow(0, 0, 3).unsqueeze(0).expand(2, -1, -1).contiguous();

    private static IEnumerable<string> BatchNorm(string prefix) =>
        new[] { "weight", "bias", "running_mean", "running_var", "num_batches_tracked" }.Select(name => $"{prefix}.{name}");

    private static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var tensor in tensors.Values)
        {
            tensor.Dispose();
        }
    }
}
