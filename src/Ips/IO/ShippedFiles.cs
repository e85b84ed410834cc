namespace Ips.IO;

/// <summary>
/// Files the repository ships beside the program (configs, bench scripts), found the same way from wherever the
/// program runs: the working directory or a folder above it first, so a user's own copy wins, then the folders above
/// the program's own build output, which lies inside the clone it was built from.
/// </summary>
public static class ShippedFiles
{
    /// <summary>The full path of <paramref name="relativePath"/> (e.g. <c>configs/mnist.yml</c>).</summary>
    /// <exception cref="FileNotFoundException">Neither the working directory nor the program's folder lies in a
    /// folder holding the file.</exception>
    public static string Find(string relativePath)
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, relativePath);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        throw new FileNotFoundException(
            $"{relativePath} not found in the working directory, above it, or in the repository ips was built from.", relativePath);
    }
}
