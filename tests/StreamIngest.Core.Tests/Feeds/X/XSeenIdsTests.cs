using StreamIngest.Feeds.X;

namespace StreamIngest.Core.Tests.Feeds.X;

public class XSeenIdsTests
{
    [Fact]
    public void Add_RepeatsAreRefused_TheNewestIsByIdValue_AndTheOldestAreForgottenPastCapacity()
    {
        var seen = new XSeenIds(capacity: 3);

        Assert.True(seen.Add("5"));
        Assert.False(seen.Add("5"));
        Assert.True(seen.Add("12"));
        Assert.True(seen.Add("9"));
        Assert.Equal("12", seen.Newest); // 12 > 9 > 5 as numbers, not as strings

        Assert.True(seen.Add("13")); // a fourth id: "5" is forgotten
        Assert.True(seen.Add("5"));
        Assert.False(seen.Add("13"));
        Assert.Equal("13", seen.Newest);
    }
}
