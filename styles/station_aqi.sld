<?xml version="1.0" encoding="UTF-8"?>
<sld:StyledLayerDescriptor xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" xmlns:sld="http://www.opengis.net/sld" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">
 <sld:NamedLayer>
  <se:Name>station_aqi</se:Name>
  <sld:UserStyle>
   <se:Name>station_aqi</se:Name>
   <se:Description>
    <se:Title>Air quality index by station</se:Title>
   </se:Description>
   <se:FeatureTypeStyle>
    <se:Rule>
     <se:Name>1</se:Name>
     <se:Description>
      <se:Title>1 Tốt / Good</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>1</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#00e400</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>14</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>2</se:Name>
     <se:Description>
      <se:Title>2 Trung bình / Moderate</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>2</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#ffff00</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>14</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>3</se:Name>
     <se:Description>
      <se:Title>3 Kém / Unhealthy for Sensitive Groups</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>3</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#ff7e00</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>14</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>4</se:Name>
     <se:Description>
      <se:Title>4 Xấu / Unhealthy</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>4</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#ff0000</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>14</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>5</se:Name>
     <se:Description>
      <se:Title>5 Rất xấu / Very Unhealthy</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>5</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#8f3f97</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>14</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>6</se:Name>
     <se:Description>
      <se:Title>6 Nguy hại / Hazardous</se:Title>
     </se:Description>
     <ogc:Filter>
      <ogc:PropertyIsEqualTo>
       <ogc:PropertyName>level</ogc:PropertyName>
       <ogc:Literal>6</ogc:Literal>
      </ogc:PropertyIsEqualTo>
     </ogc:Filter>
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#7e0023</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>14</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
    <se:Rule>
     <se:Name>other</se:Name>
     <se:Description>
      <se:Title>other</se:Title>
     </se:Description>
     <se:ElseFilter />
     <se:PointSymbolizer>
      <se:Graphic>
       <se:Mark>
        <se:WellKnownName>circle</se:WellKnownName>
        <se:Fill>
         <se:SvgParameter name="fill">#9e9e9e</se:SvgParameter>
         <se:SvgParameter name="fill-opacity">1</se:SvgParameter>
        </se:Fill>
        <se:Stroke>
         <se:SvgParameter name="stroke">#ffffff</se:SvgParameter>
         <se:SvgParameter name="stroke-width">1</se:SvgParameter>
         <se:SvgParameter name="stroke-opacity">1</se:SvgParameter>
         <se:SvgParameter name="stroke-linejoin">round</se:SvgParameter>
        </se:Stroke>
       </se:Mark>
       <se:Size>14</se:Size>
      </se:Graphic>
     </se:PointSymbolizer>
    </se:Rule>
   </se:FeatureTypeStyle>
  </sld:UserStyle>
 </sld:NamedLayer>
</sld:StyledLayerDescriptor>
