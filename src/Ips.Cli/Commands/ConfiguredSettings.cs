using System.ComponentModel;
using Ips.Native;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>
/// Options shared by the commands that run from a YAML config: the config, key overrides, the device and plain output.
/// How the config is read is the subclass's: an IPS model config (<see cref="ModelSettings"/>) or a BYOL one.
/// </summary>
public class ConfiguredSettings : PlainSettings
{
    [CommandOption("-c|--config <FILE>")]
    [Description("YAML config with the official keys (configs/*.yml).")]
    public string? Config { get; init; }

    [CommandOption("--set <KEY=VALUE>")]
    [Description("Override a config key, e.g. --set lr=0.0005 --set M=50; repeatable.")]
    public string[] Set { get; init; } = [];

    [CommandOption("--device <DEVICE>")]
    [Description("auto (CUDA when available), cpu, cuda or cuda:N.")]
    [DefaultValue("auto")]
    public string Device { get; init; } = "auto";

    /// <summary>The device named by --device.</summary>
    public TorchSharp.torch.Device ResolveDevice() => TorchRuntime.ResolveDevice(Device);
}
