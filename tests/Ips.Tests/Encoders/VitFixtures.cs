using Ips.IO;
using static TorchSharp.torch;

namespace Ips.Tests.Encoders;

/// <summary>The small vision transformers of Fixtures/vit (made by make_vit_fixtures.py) and their reference outputs.</summary>
internal static class VitFixtures
{
    /// <summary>The hub folder of fixture <paramref name="name"/>.</summary>
    public static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Encoders", "Fixtures", "vit", name);

    /// <summary>The fixture's input batch and the reference's features for it.</summary>
    public static (Tensor Input, Tensor Output) InputOutput(string name)
    {
        var io = StateDictIO.ReadStateDict(Path.Combine(Folder(name), "io.pt"));
        return (io["input"], io["output"]);
    }

    /// <summary>max |actual - expected| / max |expected|.</summary>
    public static double RelativeMaxDifference(Tensor actual, Tensor expected) =>
        (actual - expected).abs().max().item<float>() / expected.abs().max().item<float>();
}
