using System.Text.Json;
using Ips.Encoders;
using Ips.IO;
using TorchSharp;
using static TorchSharp.torch;

namespace Ips.Tests.Encoders;

/// <summary>
/// Each preset at full size against the parameter names and shapes its authors' code creates (preset_layouts.json, made
/// by make_vit_fixtures.py from the constructor arguments TRIDENT and the model cards use, and from torchvision's own
/// resnet50 for CLAM's truncated ResNet): checked on the meta device, so no weights and no memory are needed.
/// </summary>
public sealed class EncoderPresetsTests
{
    private static readonly Device Meta = new(DeviceType.META);

    public static TheoryData<string> Presets() => [.. EncoderPresets.All.Select(preset => preset.Name)];

    [Theory]
    [MemberData(nameof(Presets))]
    public void Preset_takes_exactly_the_published_names_and_shapes(string name)
    {
        var preset = EncoderPresets.Find(name)!;
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(VitFixtures.Folder(""), "preset_layouts.json")));
        var published = document.RootElement.GetProperty(name).EnumerateObject()
            .ToDictionary(entry => entry.Name, entry => empty([.. entry.Value.EnumerateArray().Select(d => d.GetInt64())], device: Meta));
        using nn.Module network = preset.Vit is { } config
            ? new VisionTransformer(config, source: name, device: Meta)
            : new ResNetBackbone(preset.Architecture, preset.ResNetStages);
        var mapped = preset.Layout is "vit" or "dinov2" ? TransformersLayout.ToTimm(published, preset.Layout == "dinov2", preset.Vit!.Depth) : published;

        StateDictIO.RequireMatch(network, mapped, name, key => key.EndsWith(".num_batches_tracked", StringComparison.Ordinal));
        var width = preset.Vit is { } vit ? new VisionTransformer(vit, source: name, device: Meta).OutputDim : ((ResNetBackbone)network).OutputDim;
        Assert.Equal(preset.Width, width);
    }

    [Fact]
    public void Published_widths_are_those_of_the_model_cards()
    {
        var widths = EncoderPresets.All.ToDictionary(preset => preset.Name, preset => preset.Width);

        Assert.Equal(1024, widths["uni"]);
        Assert.Equal(1536, widths["uni2-h"]);
        Assert.Equal(2560, widths["virchow"]);   // class token and mean patch token, concatenated
        Assert.Equal(2560, widths["virchow2"]);
        Assert.Equal(1536, widths["h-optimus-0"]);
        Assert.Equal(1536, widths["prov-gigapath"]);
        Assert.Equal(768, widths["phikon"]);
        Assert.Equal(1024, widths["phikon-v2"]);
        Assert.Equal(1024, widths["resnet50-trunc"]);
    }
}
