using System.Text.Json.Nodes;
using Ips.Encoders;
using Ips.IO;
using static TorchSharp.torch;

namespace Ips.Tests.Encoders;

/// <summary>Opening what authors publish: hub folders in f32/f16/bf16, presets, and every bad input as one clear error.</summary>
public sealed class HubFolderTests : IDisposable
{
    private readonly TempFiles _temp = new();

    public void Dispose() => _temp.Dispose();

    // A copy of a fixture folder whose weights are model.safetensors in dtype, and config.json edited by change.
    private string Folder(string fixture, ScalarType dtype = ScalarType.Float32, Action<JsonObject>? change = null)
    {
        var folder = Path.Combine(_temp.Root, $"{fixture}-{dtype}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(VitFixtures.Folder(fixture), "config.json")))!.AsObject();
        change?.Invoke(config);
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        var state = StateDictIO.ReadStateDict(Path.Combine(VitFixtures.Folder(fixture), "pytorch_model.bin"));
        StateDictIO.Save(state.Select(pair => KeyValuePair.Create(pair.Key, pair.Value.to(dtype))), Path.Combine(folder, "model.safetensors"));
        return folder;
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-4)]
    [InlineData(ScalarType.Float16, 5e-3)]
    [InlineData(ScalarType.BFloat16, 5e-2)]
    public void Safetensors_in_each_published_dtype_give_the_reference_features(ScalarType dtype, double tolerance)
    {
        // pretrained_cfg asks for no resize and mean 0.5 / std 0.5; the fixture input is already normalised, so tiles
        // x * 0.5 + 0.5 in [0, 1] go through the encoder's own preprocessing back to the same input.
        var folder = Folder("embed_class_interpolated", dtype);
        var (input, expected) = VitFixtures.InputOutput("embed_class_interpolated");
        using var encoder = TileEncoder.Open(new EncoderChoice(folder), CPU);

        var features = encoder.Encode(input * 0.5 + 0.5);

        Assert.Equal("model", encoder.Normalisation);
        Assert.Equal("vit_base_patch16_224", encoder.Identity.Architecture);
        Assert.Equal("token", encoder.Identity.Pool);
        Assert.True(VitFixtures.RelativeMaxDifference(features, expected) < tolerance,
            $"{dtype}: relative max difference {VitFixtures.RelativeMaxDifference(features, expected):E2}");
    }

    [Fact]
    public void Pool_override_is_recorded_and_changes_the_width()
    {
        using var encoder = TileEncoder.Open(new EncoderChoice(VitFixtures.Folder("registers_swiglu"), Pool: "token+avg"), CPU);
        var (input, expected) = VitFixtures.InputOutput("registers_swiglu");

        Assert.Equal(192, encoder.OutputDim);
        Assert.Equal("token+avg", encoder.Identity.Pool);
        Assert.True(VitFixtures.RelativeMaxDifference(encoder.Encode(input * 0.5 + 0.5), expected) < 1e-4);
    }

    [Fact]
    public void A_folder_without_config_json_is_named()
    {
        var folder = Folder("hf_vit");
        File.Delete(Path.Combine(folder, "config.json"));

        var error = Assert.Throws<FileNotFoundException>(() => TileEncoder.Open(new EncoderChoice(folder), CPU));

        Assert.Equal($"{folder}: no config.json; an encoder folder is in the Hugging Face hub layout (config.json and model.safetensors or pytorch_model.bin)", error.Message);
    }

    [Fact]
    public void An_unknown_architecture_is_named_with_the_known_ones()
    {
        var folder = Folder("avg_fc_norm", change: config => config["architecture"] = "vit_tiny_patch3_999");

        var error = Assert.Throws<ArgumentException>(() => TileEncoder.Open(new EncoderChoice(folder), CPU));

        Assert.StartsWith($"{Path.Combine(folder, "config.json")}: architecture 'vit_tiny_patch3_999' is not a known vision transformer; expected one of vit_small_patch16_224,", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsupported_model_arg_is_named()
    {
        var folder = Folder("avg_fc_norm", change: config => config["model_args"]!["pos_embed"] = "rope");

        var error = Assert.Throws<ArgumentException>(() => TileEncoder.Open(new EncoderChoice(folder), CPU));

        Assert.Contains("model_args 'pos_embed' (\"rope\") is not supported", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Weights_of_another_model_name_the_file_preset_count_and_first_keys()
    {
        // The plain small ViT's weights given as UNI's: the check runs on the meta device, so nothing of ViT-L's size is allocated.
        var weights = Path.Combine(VitFixtures.Folder("torchvision_vit"), "pytorch_model.bin");

        var error = Assert.Throws<InvalidDataException>(() => TileEncoder.Open(new EncoderChoice("uni", weights), CPU));

        Assert.StartsWith($"{weights} (preset uni, vit_large_patch16_224): the state_dict does not match the model: ", error.Message, StringComparison.Ordinal);
        // UNI has 24 blocks with LayerScale, the file 2 without: 312 keys missing, 30 of width 64 where 1024 is expected.
        Assert.EndsWith("342 key(s) differ (312 missing, 30 mis-shaped), e.g. blocks.0.ls1.gamma; blocks.0.ls2.gamma; blocks.1.ls1.gamma; ...", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_truncated_safetensors_file_is_named()
    {
        var folder = Folder("hf_dinov2");
        var weights = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<InvalidDataException>(() => TileEncoder.Open(new EncoderChoice(folder), CPU));

        Assert.StartsWith($"{weights}: ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_preset_without_weights_says_how_to_give_them()
    {
        var error = Assert.Throws<ArgumentException>(() => TileEncoder.Open(new EncoderChoice("virchow2"), CPU));

        Assert.Equal("--encoder virchow2 needs --encoder-weights FILE_OR_DIR: the published weights file, or the model folder holding it (nothing is downloaded)", error.Message);
    }

    [Fact]
    public void Transformers_image_processor_sets_the_preprocessing()
    {
        var folder = Folder("hf_dinov2");
        File.WriteAllText(Path.Combine(folder, "preprocessor_config.json"),
            """{"do_center_crop": true, "crop_size": {"height": 32, "width": 32}, "size": {"shortest_edge": 40}, "resample": 3, "image_mean": [0.1, 0.2, 0.3], "image_std": [0.4, 0.5, 0.6]}""");

        var read = HubFolder.Read(folder);

        Assert.Equal((32, 0.8, "bicubic"), (read.Preprocessing.InputSize, read.Preprocessing.CropPct, read.Preprocessing.Interpolation));
        Assert.Equal([0.1f, 0.2f, 0.3f], read.Preprocessing.Mean!);
        Assert.Equal([0.4f, 0.5f, 0.6f], read.Preprocessing.Std!);
        Assert.Equal(40, read.Preprocessing.ResizeTo);
    }
}
