using System.ComponentModel;
using Ips.Configuration;
using Ips.Native;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options shared by the commands that run a model: the config, key overrides and the device.</summary>
public class ModelSettings : CommandSettings
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

    [CommandOption("--plain")]
    [Description("Plain line-by-line progress (for logs and CI) instead of live progress bars.")]
    public bool Plain { get; init; }

    /// <summary>Loads the config named by --config with the --set overrides.</summary>
    public IpsConfig LoadConfig()
    {
        if (string.IsNullOrWhiteSpace(Config))
        {
            throw new ArgumentException("--config is required: the YAML config of the model (see configs/).");
        }
        return ConfigLoader.Load(Config, Set);
    }

    /// <summary>The device named by --device.</summary>
    public TorchSharp.torch.Device ResolveDevice() => TorchRuntime.ResolveDevice(Device);

    /// <summary>True when live progress bars should be replaced by plain lines.</summary>
    public bool UsePlainOutput => Plain || Console.IsOutputRedirected || Environment.GetEnvironmentVariable("CI") is not null;
}
