using Ips.Bench;
using Ips.Encoders;
using static TorchSharp.torch;

namespace Ips.Tests.Bench;

public sealed class EncoderSpeedBenchTests
{
    [Fact]
    public void Presets_sharing_an_architecture_are_measured_once()
    {
        var rows = EncoderSpeedBench.Architectures().ToList();

        Assert.Equal(EncoderPresets.All.Count - 1, rows.Count);
        Assert.Contains(rows, row => row.Presets == "h-optimus-0, h-optimus-1");
        Assert.Contains(rows, row => row.Presets == "virchow");
        Assert.Contains(rows, row => row.Presets == "virchow2");
    }

    [Fact]
    public void CLAMs_truncated_resnet50_has_torchvisions_parameters_up_to_layer3()
    {
        var preset = EncoderPresets.Find("resnet50-trunc")!;

        var row = EncoderSpeedBench.Measure(preset, preset.Name, batchSize: 2, CPU);

        // torchvision's resnet50 has 25,557,032 parameters; layer4 holds 14,964,736 and fc 2,049,000.
        Assert.Equal(8.543296, row.ParametersMillions, 6);
        Assert.Equal(224, row.Input);
        Assert.True(row.TilesPerSecond > 0 && row.PeakMiB >= row.BeforeMiB && row.BeforeMiB > 0, $"{row.TilesPerSecond} tiles/s, {row.PeakMiB} MiB from {row.BeforeMiB} MiB");
    }
}
