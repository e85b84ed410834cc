using Ips.Configuration;

namespace Ips.Tests.Configuration;

/// <summary>YAML syntax errors, including those YamlDotNet reports as a crash, end in one line naming file, line and column.</summary>
public sealed class ConfigSyntaxErrorTests
{
    [Fact]
    public void An_unclosed_list_names_file_line_and_column()
    {
        var lines = File.ReadAllLines(RepoConfig("mnist-small.yml")).ToList();
        var at = lines.FindIndex(l => l.StartsWith("patch_size:", StringComparison.Ordinal));
        lines[at] = "patch_size: [50, 50";
        var text = string.Join('\n', lines) + "\n";

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(text, "flow.yml"));

        Assert.StartsWith("config flow.yml: not valid YAML at line ", e.Message);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(e.Message, @"line \d+, column \d+: .*closing bracket"), e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void An_unclosed_list_at_the_very_end_names_its_line()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse("n_epoch: 1\npatch_size: [50, 50", "flow.yml"));
        Assert.Matches(@"^config flow\.yml: not valid YAML at line [23], column \d+", e.Message);
    }

    [Fact]
    public void An_unclosed_list_in_an_override_is_a_config_error()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load(RepoConfig("mnist-small.yml"), ["patch_size=[25, 25"]));
        Assert.Contains("override 'patch_size=[25, 25': the value is not valid YAML at column", e.Message);
    }

    internal static string RepoConfig(string name)
    {
        return RepositoryFiles.Path(Path.Combine("configs", name));
    }
}
