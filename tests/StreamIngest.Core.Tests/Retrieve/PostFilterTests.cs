using StreamIngest.Core.Tests.Enrich;
using StreamIngest.Model;
using StreamIngest.Retrieve;

namespace StreamIngest.Core.Tests.Retrieve;

public class PostFilterTests
{
    private static Post Post(string label = "positive", double score = 0.6, long likes = 3, string author = "RivertonWX", string url = "https://news.example.org/a", bool labelled = false)
    {
        var p = StandardEnricherTests.NewPost("river over the bridge");
        p.Sentiment = new PostSentiment(label, score);
        p.Metrics = new Engagement(Likes: likes);
        p.Author = new Author(author);
        p.Entities = p.Entities with { Urls = [url] };
        p.SafetyLabels = labelled ? [new SafetyLabel("offensive", 0.7)] : [];
        return p;
    }

    public static TheoryData<PostFilter, bool> Cases => new()
    {
        { PostFilter.None, true },
        { new PostFilter { Sentiment = "positive" }, true },
        { new PostFilter { Sentiment = "negative" }, false },
        { new PostFilter { MinSentiment = 0.5 }, true },
        { new PostFilter { MinSentiment = 0.7 }, false },
        { new PostFilter { MaxSentiment = 0.5 }, false },
        { new PostFilter { MinEngagement = 3 }, true },
        { new PostFilter { MinEngagement = 4 }, false },
        { new PostFilter { Author = "rivertonwx" }, true },
        { new PostFilter { Author = "someone" }, false },
        { new PostFilter { ExcludeAuthor = "RIVERTONWX" }, false },
        { new PostFilter { Domain = "example.org" }, true },
        { new PostFilter { Domain = "news.example.org" }, true },
        { new PostFilter { Domain = "ample.org" }, false },
        { new PostFilter { ExcludeLabelled = true }, true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Accepts_OnePostAgainstEachFilter(PostFilter filter, bool expected)
    {
        Assert.Equal(expected, filter.Accepts(Post()));
    }

    [Fact]
    public void Accepts_LabelledPostWithExcludeLabelled_IsLeftOut()
    {
        Assert.False(new PostFilter { ExcludeLabelled = true }.Accepts(Post(labelled: true)));
    }

    [Fact]
    public void Accepts_SentimentRangeOnAPostWithoutSentiment_IsLeftOut()
    {
        var post = Post();
        post.Sentiment = null;

        Assert.False(new PostFilter { MinSentiment = -1 }.Accepts(post));
        Assert.True(PostFilter.None.Accepts(post));
    }
}
