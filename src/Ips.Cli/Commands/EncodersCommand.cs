using System.Globalization;
using Ips.Encoders;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>
/// <c>ips encoders</c>: the tile encoders <c>--encoder</c> takes: each preset with its network, feature width, pooling,
/// preprocessing and magnification (docs/encoders.md gives each value's source), then the file and folder forms.
/// </summary>
internal sealed class EncodersCommand : Command<PlainSettings>
{
    protected override int Execute(CommandContext context, PlainSettings settings, CancellationToken cancellationToken)
    {
        var table = new Table()
            .AddColumn("--encoder").AddColumn("network").AddColumn("width").AddColumn("pool")
            .AddColumn("input").AddColumn("mean / std").AddColumn("magnification");
        foreach (var preset in EncoderPresets.All)
        {
            var p = preset.Preprocessing;
            table.AddRow(
                preset.Name,
                Markup.Escape(preset.Architecture + (preset.ResNetStages is > 0 and < 4 ? $" through layer{preset.ResNetStages}" : "")),
                preset.Width.ToString(CultureInfo.InvariantCulture),
                preset.Vit?.GlobalPool ?? "avg",
                string.Create(CultureInfo.InvariantCulture, $"{p.InputSize} ({p.Interpolation}, resize {p.ResizeTo}, crop_pct {p.CropPct:0.###})"),
                Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"[{Join(p.Mean)}] / [{Join(p.Std)}]")),
                Markup.Escape(preset.Magnification));
        }
        AnsiConsole.Write(table);
        Console.WriteLine("A preset reads its published weights: --encoder NAME --encoder-weights FILE_OR_DIR (nothing is downloaded).");
        Console.WriteLine("Also: --encoder DIR (config.json + model.safetensors or pytorch_model.bin; timm 'architecture' or transformers 'model_type' vit/dinov2),");
        Console.WriteLine("      --encoder FILE (a torchvision resnet50/resnet18 state_dict .pth, or the byol.ckpt of `ips pretrain byol`).");
        Console.WriteLine($"timm architectures known: {string.Join(", ", EncoderRegistry.VitNames)}.");
        return 0;
    }

    private static string Join(float[]? values) =>
        values is null ? "" : string.Join(", ", values.Select(v => v.ToString("0.######", CultureInfo.InvariantCulture)));
}
