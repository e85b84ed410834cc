using System.Globalization;
using System.Reflection;

namespace Ips.Cli.Hosting;

/// <summary>How this <c>ips</c> was built: version, configuration, commit and build time, from the assembly itself.</summary>
internal static class BuildInfo
{
    private static readonly Assembly Self = typeof(BuildInfo).Assembly;

    /// <summary>The informational version, e.g. <c>0.1.0+3f2c1ab…</c> (the SDK appends the git commit when it knows it).</summary>
    public static string Version =>
        Self.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? Self.GetName().Version?.ToString() ?? "unknown";

    /// <summary>Release or Debug.</summary>
    public static string Configuration => Self.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "unknown";

    /// <summary>The git commit the build was made from, or null when the build did not know it.</summary>
    public static string? Commit => Version.IndexOf('+', StringComparison.Ordinal) is var plus and > 0 ? Version[(plus + 1)..] : null;

    /// <summary>When the program's assembly was written (its file time): the end of the build that made it.</summary>
    public static DateTime BuiltUtc => File.GetLastWriteTimeUtc(Self.Location);

    /// <summary>One line for <c>ips doctor</c>, e.g. <c>Release, built 2026-11-25 14:02:11 UTC, commit 3f2c1ab</c>.</summary>
    public static string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Configuration}, built {BuiltUtc:yyyy-MM-dd HH:mm:ss} UTC, commit {(Commit is { Length: > 12 } c ? c[..12] : Commit ?? "unknown")}, from {Path.GetDirectoryName(Self.Location)}");
}
