using Ips.IO;

namespace Ips.Tests.IO;

public sealed class ShippedFilesTests
{
    [Fact]
    public void A_shipped_config_is_found_from_the_test_programs_folder_inside_the_clone()
    {
        var path = ShippedFiles.Find(Path.Combine("configs", "mnist-small.yml"));

        Assert.True(File.Exists(path));
        Assert.Equal(Path.Combine(RepositoryFiles.Root, "configs", "mnist-small.yml"), path);
    }

    [Fact]
    public void A_missing_file_is_named_in_the_error()
    {
        var error = Assert.Throws<FileNotFoundException>(() => ShippedFiles.Find(Path.Combine("configs", "no-such-recipe.yml")));

        Assert.Contains("configs/no-such-recipe.yml not found", error.Message, StringComparison.Ordinal);
    }
}
