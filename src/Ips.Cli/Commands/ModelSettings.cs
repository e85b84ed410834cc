using Ips.Configuration;

namespace Ips.Cli.Commands;

/// <summary>Options of the commands that run an IPS model from its config.</summary>
public class ModelSettings : ConfiguredSettings
{
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
