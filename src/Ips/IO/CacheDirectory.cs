namespace Ips.IO;

/// <summary>Where fetched and derived files live: <c>$IPS_CACHE</c>, else <c>~/.cache/ips</c>.</summary>
public static class CacheDirectory
{
    /// <summary>The cache root for this process's environment.</summary>
    public static string Root() =>
        Root(Environment.GetEnvironmentVariable("IPS_CACHE"), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    internal static string Root(string? ipsCache, string home) =>
        string.IsNullOrEmpty(ipsCache) ? Path.Combine(home, ".cache", "ips") : ipsCache;
}
