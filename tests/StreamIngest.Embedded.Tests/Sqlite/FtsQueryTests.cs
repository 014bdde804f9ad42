using StreamIngest.Embedded.Sqlite;

namespace StreamIngest.Embedded.Tests.Sqlite;

public class FtsQueryTests
{
    [Theory]
    [InlineData("What is happening with the floods?", "\"floods\"")]
    [InlineData("flooding downtown", "\"flooding\" OR \"downtown\"")]
    [InlineData("\"quoted\" OR NEAR(x)", "\"quoted\" OR \"near\" OR \"x\"")]
    [InlineData("the", "\"the\"")]
    [InlineData("How many people have been killed in the Nepal earthquake so far?", "\"people\" OR \"killed\" OR \"nepal\" OR \"earthquake\"")]
    [InlineData("Tell me what people are saying about $NVDA", "\"people\" OR \"nvda\"")]
    [InlineData("?!", null)]
    public void Build_UserText_BecomesQuotedOrTerms(string text, string? expected)
    {
        Assert.Equal(expected, FtsQuery.Build(text));
    }
}
