using StreamIngest.Embedded.Sqlite;

namespace StreamIngest.Embedded.Tests.Sqlite;

public class FtsQueryTests
{
    [Theory]
    [InlineData("What is happening with the floods?", "\"floods\"")]
    [InlineData("flooding downtown", "\"flooding\" OR \"downtown\"")]
    [InlineData("\"quoted\" OR NEAR(x)", "\"quoted\" OR \"near\" OR \"x\"")]
    [InlineData("the", "\"the\"")]
    [InlineData("?!", null)]
    public void Build_UserText_BecomesQuotedOrTerms(string text, string? expected)
    {
        Assert.Equal(expected, FtsQuery.Build(text));
    }
}
