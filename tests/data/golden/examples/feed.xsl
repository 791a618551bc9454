<?xml version="1.0" encoding="utf-8"?>
<!--
  The browser view of every RSS 2.0 and Atom 1.0 feed that feeds writes: a readable page in
  place of raw XML. Feed readers ignore it. XSLT 1.0, no extensions, no scripts, so every
  browser that still applies XSLT shows the same page (see "Feeds in a browser" in README.md).
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:content="http://purl.org/rss/1.0/modules/content/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:fh="http://purl.org/syndication/history/1.0"
    xmlns:media="http://search.yahoo.com/mrss/"
    exclude-result-prefixes="atom content dc fh media">

  <xsl:output method="html" encoding="utf-8" indent="yes" doctype-system="about:legacy-compat"/>

  <!-- The PI's href is relative to the feed ("../../feed.xsl"); what precedes the file name
       leads back to the output folder, wherever it is served. -->
  <xsl:variable name="pi" select="string(/processing-instruction('xml-stylesheet'))"/>
  <xsl:variable name="root"
      select="substring-before(substring-after($pi, 'href=&quot;'), 'feed.xsl')"/>

  <xsl:template match="/">
    <xsl:apply-templates select="rss/channel | atom:feed"/>
  </xsl:template>

  <xsl:template match="rss/channel">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="title"/>
      <xsl:with-param name="description" select="description[. != ../title]"/>
      <!-- An archive page's subscribe URL is its feed's (rel="current"). -->
      <xsl:with-param name="url" select="atom:link[@rel='current']/@href
          | atom:link[@rel='self'][not(../atom:link[@rel='current'])]/@href"/>
      <xsl:with-param name="home" select="link"/>
      <xsl:with-param name="language" select="language"/>
      <xsl:with-param name="kind" select="'RSS 2.0'"/>
      <xsl:with-param name="entries" select="item"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="atom:feed">
    <xsl:call-template name="page">
      <xsl:with-param name="title" select="atom:title"/>
      <xsl:with-param name="description" select="atom:subtitle"/>
      <!-- An archive page's subscribe URL is its feed's (rel="current"). -->
      <xsl:with-param name="url" select="atom:link[@rel='current']/@href
          | atom:link[@rel='self'][not(../atom:link[@rel='current'])]/@href"/>
      <xsl:with-param name="home" select="atom:link[@rel='alternate']/@href"/>
      <xsl:with-param name="language" select="@xml:lang"/>
      <xsl:with-param name="kind" select="'Atom 1.0'"/>
      <xsl:with-param name="entries" select="atom:entry"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="page">
    <xsl:param name="title"/>
    <xsl:param name="description"/>
    <xsl:param name="url"/>
    <xsl:param name="home"/>
    <xsl:param name="language"/>
    <xsl:param name="kind"/>
    <xsl:param name="entries"/>
    <html lang="{$language}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 50rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; background: #fff; }
a { color: #0645ad; }
.about { background: #f3f6fb; border: 1px solid #d5deeb; border-radius: 6px; padding: 0.2rem 1rem; }
.url { display: block; overflow-wrap: anywhere; padding: 0.4rem; background: #fff;
       border: 1px solid #ccc; user-select: all; }
article { border-bottom: 1px solid #ddd; padding: 1rem 0; }
article h3 { margin: 0 0 0.25rem; }
.meta { color: #555; font-size: 0.9rem; margin: 0; }
article img { max-width: 100%; height: auto; margin: 0.5rem 0; }
@media (prefers-color-scheme: dark) {
  body { color: #e8e8e8; background: #161616; } a { color: #8ab4f8; }
  .about { background: #1f2633; border-color: #34405a; } .url { background: #161616; }
  .meta { color: #aaa; } article { border-color: #333; }
}
        </style>
      </head>
      <body>
        <header>
          <h1><xsl:value-of select="$title"/></h1>
          <xsl:if test="$description">
            <p class="description"><xsl:value-of select="$description"/></p>
          </xsl:if>
        </header>
        <section class="about" id="about">
          <h2>This is a web feed</h2>
          <p>A feed (<xsl:value-of select="$kind"/>) lists new articles as they are published.
            Copy its address into a feed reader (a news reader app or website) to subscribe:
            the reader checks the feed for you and shows you what is new.</p>
          <code class="url" id="feed-url"><xsl:value-of select="$url"/></code>
          <p>This page is only a preview of the feed.
            <a id="all-feeds" href="{$root}index.html">All feeds</a> of this site are listed on
            its index page<xsl:if test="$home"> · <a href="{$home}">the site</a></xsl:if>.</p>
        </section>
        <main>
          <xsl:choose>
            <xsl:when test="fh:archive">
              <h2>Archived entries</h2>
              <p class="archive">An archive page of this feed: it holds older entries, and never
                needs a subscription. <a id="current" href="{atom:link[@rel='current']/@href}">The
                current feed</a> has the newest ones.</p>
            </xsl:when>
            <xsl:otherwise><h2>Recent entries</h2></xsl:otherwise>
          </xsl:choose>
          <xsl:if test="not($entries)">
            <p>No entries yet.</p>
          </xsl:if>
          <xsl:apply-templates select="$entries"/>
          <nav class="history">
            <xsl:if test="atom:link[@rel='next-archive']">
              <a id="newer" href="{atom:link[@rel='next-archive']/@href}">Newer entries</a>
              <xsl:text> </xsl:text>
            </xsl:if>
            <xsl:if test="atom:link[@rel='prev-archive']">
              <a id="older" href="{atom:link[@rel='prev-archive']/@href}">Older entries</a>
            </xsl:if>
          </nav>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <article class="entry">
      <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
      <p class="meta">
        <xsl:value-of select="dc:creator"/>
        <xsl:if test="dc:creator"> · </xsl:if>
        <time><xsl:value-of select="pubDate"/></time>
      </p>
      <xsl:for-each select="media:content[@medium='image']">
        <img src="{@url}" alt="{media:title}" width="{@width}" height="{@height}"
             loading="lazy"/>
      </xsl:for-each>
      <!-- With content:encoded, the description is the excerpt escaped once more for readers
           that treat it as HTML (see rss.py), so it holds no markup: unescaped, the browser
           shows the characters. Without, it is the whole content, which is not a summary. -->
      <xsl:if test="content:encoded">
        <p class="summary">
          <xsl:value-of select="description" disable-output-escaping="yes"/>
        </p>
      </xsl:if>
      <xsl:call-template name="related">
        <xsl:with-param name="links" select="atom:link[@rel='related']"/>
      </xsl:call-template>
    </article>
  </xsl:template>

  <xsl:template match="atom:entry">
    <article class="entry">
      <h3>
        <a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a>
      </h3>
      <p class="meta">
        <xsl:value-of select="atom:author/atom:name"/>
        <xsl:if test="atom:author"> · </xsl:if>
        <time datetime="{atom:published}">
          <xsl:value-of select="translate(substring(atom:published, 1, 16), 'T', ' ')"/> UTC
        </time>
      </p>
      <xsl:for-each select="atom:link[@rel='enclosure'][starts-with(@type, 'image/')]">
        <img src="{@href}" alt="" loading="lazy"/>
      </xsl:for-each>
      <xsl:if test="atom:summary">
        <p class="summary"><xsl:value-of select="atom:summary"/></p>
      </xsl:if>
      <xsl:call-template name="related">
        <xsl:with-param name="links" select="atom:link[@rel='related']"/>
      </xsl:call-template>
    </article>
  </xsl:template>

  <xsl:template name="related">
    <xsl:param name="links"/>
    <xsl:if test="$links">
      <p class="meta">Related:</p>
      <ul class="related">
        <xsl:for-each select="$links">
          <li><a href="{@href}"><xsl:value-of select="@title"/></a></li>
        </xsl:for-each>
      </ul>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
