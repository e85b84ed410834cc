using Ips.Configuration;

namespace Ips.Training;

/// <summary>The three data-loading modes of docs/design.md section 3.</summary>
public enum LoadingMode
{
    /// <summary><c>eager: true</c>, <c>B_seq = B</c>: a whole batch of full images goes to the device and IPS runs on the batch.</summary>
    Eager,

    /// <summary><c>eager: true</c>, <c>B_seq = 1</c>: one image at a time goes to the device; selections accumulate to a batch.</summary>
    EagerSequential,

    /// <summary><c>eager: false</c>: images stay in host memory; only the current chunk of <c>I</c> patches moves to the device.</summary>
    Lazy,
}

/// <summary>Derives the loading mode from the config keys <c>eager</c> and <c>B_seq</c>.</summary>
public static class LoadingModes
{
    /// <summary>The mode a config asks for.</summary>
    public static LoadingMode Of(IpsConfig config) =>
        !config.Eager ? LoadingMode.Lazy : config.BSeq == 1 && config.B > 1 ? LoadingMode.EagerSequential : LoadingMode.Eager;
}
