using System.ComponentModel;
using Ips.Configuration;
using Spectre.Console.Cli;

namespace Ips.Cli.Commands;

/// <summary>Options of the commands that run an IPS model from its config.</summary>
public class ModelSettings : ConfiguredSettings
{
    [CommandOption("--verbose")]
    [Description("On weights that do not match the model, list every missing, unexpected and mis-shaped key (otherwise the count and the first three).")]
    public bool Verbose { get; init; }

    /// <summary>Loads the config named by --config with the --set overrides.</summary>
    public IpsConfig LoadConfig()
    {
        if (string.IsNullOrWhiteSpace(Config))
        {
            throw new ArgumentException("--config is required: the YAML config of the model (see configs/).");
        }
        return ConfigLoader.Load(Config, Set);
    }
}
