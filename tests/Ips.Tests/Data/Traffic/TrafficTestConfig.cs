using Ips.Configuration;

namespace Ips.Tests.Data.Traffic;

/// <summary>configs/traffic.yml scaled down to run in seconds on a CPU: 96 x 128 images of 48 patches of 16 px.</summary>
internal static class TrafficTestConfig
{
    /// <summary>The overrides, as <c>--set</c> items, that scale configs/traffic.yml down.</summary>
    public static string[] Overrides(string dataDir, int epochs = 1) =>
    [
        $"data_dir={dataDir}", "N=48", "patch_size=[16, 16]", "patch_stride=[16, 16]", "M=6", "I=16",
        "n_res_blocks=2", "D=128", "D_k=16", "D_v=16", "D_inner=256", "H=4", "pretrained=false",
        "B=4", "B_seq=4", $"n_epoch={epochs}", "n_epoch_warmup=1", "lr=0.001", "n_worker=2", "dropout=0", "attn_dropout=0",
    ];

    /// <summary>The repository's configs/traffic.yml.</summary>
    public static string RepositoryConfig()
    {
        return RepositoryFiles.Path("configs/traffic.yml");
    }

    /// <summary>The scaled-down config reading <paramref name="dataDir"/>.</summary>
    public static IpsConfig Scaled(string dataDir, int epochs = 1) => ConfigLoader.Load(RepositoryConfig(), Overrides(dataDir, epochs));
}
